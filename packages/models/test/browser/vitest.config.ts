/**
 * Browser mode: JPEG decoding in headless Chromium (Debian's /usr/bin/chromium) with the same WebAssembly
 * libjpeg-turbo as Node. Run: npm run test:browser -w @segllm/models.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { headlessChromium } from '../../../../vitest.browser.ts';

export default defineConfig({
  // the package folder, whatever the working directory
  root: fileURLToPath(new URL('../..', import.meta.url)),
  resolve: { conditions: ['@segllm/source', 'module', 'browser', 'import', 'default'] },
  // pre-bundling would move the decoder's glue away from its mozjpeg_dec.wasm, which it fetches by a relative URL
  optimizeDeps: { exclude: ['@jsquash/jpeg'] },
  test: {
    include: ['test/browser/**/*.browser-test.ts'],
    testTimeout: 60_000,
    attachmentsDir: 'test/browser/__screenshots__/attachments',
    browser: headlessChromium(),
  },
});
