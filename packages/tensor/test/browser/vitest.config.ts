/**
 * Browser mode: a small WebGPU op suite in headless Chromium (Debian's /usr/bin/chromium; WebGPU runs on its
 * SwiftShader adapter, which needs --enable-unsafe-webgpu). Run: npm run test:browser -w @segllm/tensor.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { headlessChromium } from '../../../../vitest.browser.ts';

export default defineConfig({
  // the package folder, whatever the working directory
  root: fileURLToPath(new URL('../..', import.meta.url)),
  resolve: { conditions: ['@segllm/source', 'module', 'browser', 'import', 'default'] },
  test: {
    include: ['test/browser/**/*.browser-test.ts'],
    testTimeout: 60_000,
    // failure screenshots stay in the (git-ignored) test/browser/__screenshots__
    attachmentsDir: 'test/browser/__screenshots__/attachments',
    browser: headlessChromium(['--enable-unsafe-webgpu']),
  },
});
