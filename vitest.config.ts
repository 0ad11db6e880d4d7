import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'property-tests/**/*.test.ts'],
    // Tests run in Node: the Node platform (files, worker threads, ...) is installed, as
    // 'flyvis-ts' installs it, before a test imports core modules directly (docs/platform.md).
    setupFiles: ['src/platform-node.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // The JSON report lets .ci/run print a plain 'N passed, N failed, N skipped' closing line.
    reporters: ['default', 'json'],
    outputFile: { json: 'node_modules/.cache/flyvis-ts/vitest-results.json' },
  },
});
