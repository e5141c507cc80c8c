import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Worker-thread pipelines spawn their own threads; forks keep each test file isolated.
    pool: 'forks',
  },
});
