import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'examples/**/*.test.ts', 'test/**/*.test.ts'],
    // Property and hostile suites do real crypto on a 2-core machine: be patient, never flaky.
    testTimeout: 30_000,
    reporters: ['default'],
  },
});
