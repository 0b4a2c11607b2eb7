/**
 * Browser mode with cross-origin isolation (COOP/COEP headers), so SharedArrayBuffer exists and cpu-wasm runs its
 * Web Worker threads on a shared memory: `npx vitest run --config test/browser/isolated.vitest.config.ts`
 * (the plain config runs the same test without isolation: single-threaded).
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

export default defineConfig({
  ...base,
  server: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
  test: { ...base.test, include: ['test/browser/cpu-wasm.browser-test.ts'] },
});
