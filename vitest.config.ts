import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@segllm/source', 'module', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['@segllm/source', 'node', 'import', 'default'], externalConditions: ['@segllm/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'reliability/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // prints every skip with its reason; fails `npm test` on a skip not on the allow-list (vitest-skips.ts)
    reporters: ['default', './vitest-skips.ts'],
    server: { deps: { inline: [/@segllm\//] } },
  },
});
