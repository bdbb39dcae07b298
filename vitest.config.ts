import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'examples/**/*.test.ts', 'test/**/*.test.ts'],
    // Property and hostile suites do real crypto on a 2-core machine: be patient, never flaky.
    testTimeout: 30_000,
    // Two files at a time even on 2 cores (Vitest's default is cores - 1, one file at a time): most suites wait on
    // child processes, sockets, Chromium and the databases, and a second worker runs in those waits. Every file keeps
    // its own schemas, Redis database or prefix, ports and temp folders (packages/test-kit/lib/backends.ts).
    maxWorkers: 2,
    reporters: ['default'],
  },
});
