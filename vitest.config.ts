import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: [
      'tests/setup/mysql.global-setup.ts',
      'tests/setup/redis.global-setup.ts',
      'tests/setup/chromium.global-setup.ts',
    ],
    setupFiles: ['tests/setup/cleanup.setup.ts'],
    pool: 'forks',
    // Integration tests start real servers and sockets; the burst test pushes 20k updates through them.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // expect.poll waits for an outcome that follows real I/O (a store, a Redis hop, a worker's
    // poll); 1 s (vitest's default) is too tight on a loaded 2-core machine. Tests that assert a
    // time bound ("within a second") pass their own timeout.
    expect: { poll: { timeout: 5_000 } },
    teardownTimeout: 30_000,
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.tmp/vitest-report.json' },
  },
})
