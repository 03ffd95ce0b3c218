// The client of tracehound's JSON API. The session cookie goes with every
// request (same origin); unsafe methods echo the session's CSRF token in
// X-CSRF-Token. A 401 tells the app the session is gone.
import type { Me } from './lib/types';

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

let csrf = '';
let onUnauthenticated: () => void = () => {};

export function setSession(me: Me | null): void {
  csrf = me?.csrf_token ?? '';
}

export function onSessionLost(f: () => void): void {
  onUnauthenticated = f;
}

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let res: Response;
  try {
    res = await fetch('/api/v1' + path, {
      method, headers, credentials: 'same-origin', signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'cannot reach tracehound: ' + (e as Error).message);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    if (res.ok) return text as T;
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
    if (res.status === 401 && path !== '/login') onUnauthenticated();
    throw new ApiError(res.status, err?.code ?? 'http_' + res.status, err?.message ?? `${method} ${path}: ${res.status} ${res.statusText}`);
  }
  return data as T;
}

/** fetchText gets a non-JSON answer (blocklist exports). */
export async function fetchText(path: string): Promise<{ text: string; headers: Headers }> {
  const res = await fetch('/api/v1' + path, { credentials: 'same-origin' });
  const text = await res.text();
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      msg = JSON.parse(text).error.message;
    } catch { /* not JSON */ }
    if (res.status === 401) onUnauthenticated();
    throw new ApiError(res.status, 'http_' + res.status, msg);
  }
  return { text, headers: res.headers };
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>('GET', path, undefined, signal),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', path, body),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  del: <T>(path: string) => request<T>('DELETE', path),
};

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
