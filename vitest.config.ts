import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two test files at a time even on two cores (Vitest's default there is one): most of a test's time
    // is spent waiting on the servers, Redis and balancers it starts. Every port a test's processes use
    // is bound at port 0 or checked to be theirs (test/ports.test.ts), so files do not meet. At most
    // four: many tests load real servers, and each worker gets a redis-server of its own.
    maxWorkers: Math.min(4, Math.max(2, availableParallelism() - 1)),
  },
})
