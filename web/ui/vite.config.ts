// Vite builds the UI into web/dist, which the Go binary embeds (web/web.go).
// `npm run dev` serves it with the API proxied to a running tracehound
// (TRACEHOUND_SERVER, default 127.0.0.1:8080).
import { defineConfig } from 'vitest/config';

const server = process.env.TRACEHOUND_SERVER ?? 'http://127.0.0.1:8080';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // The server's CSP allows scripts from 'self' only: no inline
    // modulepreload polyfill.
    modulePreload: { polyfill: false },
    target: 'es2022',
    sourcemap: false,
  },
  server: {
    proxy: { '/api': server, '/healthz': server },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
