/**
 * The browser-mode settings every package's browser tests share: headless Debian Chromium (/usr/bin/chromium, or
 * CHROMIUM_PATH) through Playwright, without background network traffic. `extraArgs` adds Chromium flags.
 */
import { playwright } from '@vitest/browser-playwright';

export function headlessChromium(extraArgs: string[] = []) {
  return {
    enabled: true,
    headless: true,
    provider: playwright({
      launchOptions: {
        executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        args: [...extraArgs, '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
      },
    }),
    instances: [{ browser: 'chromium' as const }],
  };
}
