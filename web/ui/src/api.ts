// The client of tracehound's JSON API. The session cookie goes with every
// request (same origin); unsafe methods echo the session's CSRF token in
// X-CSRF-Token. A 401 tells the app the session is gone.
import { LineSplitter, parseLine } from './lib/ndjson';
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
  if (!res.ok) throw failure(res, method, path, data);
  return data as T;
}

// failure is the error of an answer that is not ok; a 401 ends the session.
function failure(res: Response, method: string, path: string, data: unknown): ApiError {
  const err = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
  if (res.status === 401 && path !== '/login') onUnauthenticated();
  return new ApiError(res.status, err?.code ?? 'http_' + res.status, err?.message ?? `${method} ${path}: ${res.status} ${res.statusText}`);
}

/**
 * streamLines POSTs body and hands each line of a newline-delimited JSON
 * answer to onLine as it arrives (a dry run's progress, then its result).
 * It resolves when the answer ends; a refused request throws as request does.
 */
async function streamLines<T>(path: string, body: unknown, onLine: (line: T) => void, signal?: AbortSignal): Promise<void> {
  const headers: Record<string, string> = { Accept: 'application/x-ndjson', 'Content-Type': 'application/json' };
  if (csrf) headers['X-CSRF-Token'] = csrf;
  let res: Response;
  try {
    res = await fetch('/api/v1' + path, { method: 'POST', headers, credentials: 'same-origin', signal, body: JSON.stringify(body) });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'cannot reach tracehound: ' + (e as Error).message);
  }
  if (!res.ok) {
    const text = await res.text();
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch { /* not JSON */ }
    throw failure(res, 'POST', path, data);
  }
  const split = new LineSplitter();
  const dec = new TextDecoder();
  const emit = (lines: string[]) => {
    for (const l of lines) onLine(parseLine<T>(l) as T);
  };
  if (!res.body) {
    emit([...split.push(await res.text()), ...split.end()]);
    return;
  }
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    emit(split.push(dec.decode(value, { stream: true })));
  }
  emit([...split.push(dec.decode()), ...split.end()]);
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
  stream: streamLines,
};

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
