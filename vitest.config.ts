import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end files start whole services; on 2 cores more than two at once only slows all down.
    maxWorkers: 2,
    // The JSON report feeds the one-line summary scripts/test-all.sh prints for CI.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
  },
});
