// Shared helpers of the browser tests: launch the Debian Chromium through
// playwright-core, sign in, screenshot, and collect page errors.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const baseURL = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:8080';
export const shotsDir = process.env.E2E_SCREENSHOTS ?? new URL('./screenshots/', import.meta.url).pathname;

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

/** newPage opens a page that records console errors and failed requests. */
export async function newPage(browser, opts = {}) {
  const context = await browser.newContext({ baseURL, viewport: { width: 1440, height: 900 }, colorScheme: opts.colorScheme ?? 'light', ...opts.context });
  const page = await context.newPage();
  page.setDefaultTimeout(opts.timeout ?? 20_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) errors.push('console: ' + m.text());
  });
  return { context, page, errors };
}

export async function login(page, user = process.env.E2E_USER, password = process.env.E2E_PASSWORD) {
  await page.goto('/login');
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

export async function shot(page, name) {
  mkdirSync(shotsDir, { recursive: true });
  await page.screenshot({ path: join(shotsDir, name + '.png'), fullPage: false });
}
