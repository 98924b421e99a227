import type { TestProject } from 'vitest/node'
import { checkRedisUrl, startPrivateRedis } from './redis.ts'
import { redactUrl } from './mariadb.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** `redis://host:port` shared by the run; each test uses a key prefix of its own. */
    redisUrl: string
  }
}

/**
 * Provides `redisUrl` to the tests. `TEST_REDIS_URL` wins when set (checked before any test runs);
 * otherwise a private redis-server is started from the local binary (apt-installed when missing
 * and we are root) and stopped by PID at the end. When Redis cannot be provided this throws, which
 * fails the run: the multi-instance suite is never skipped.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const externalUrl = process.env.TEST_REDIS_URL?.trim()
  if (externalUrl) {
    await checkRedisUrl(externalUrl)
    process.stderr.write(`[redis setup] using TEST_REDIS_URL ${redactUrl(externalUrl)}\n`)
    project.provide('redisUrl', externalUrl)
    return async () => {}
  }
  let server: Awaited<ReturnType<typeof startPrivateRedis>>
  try {
    server = await startPrivateRedis()
  } catch (error) {
    throw new Error(`Could not provide Redis for the tests: ${(error as Error).message}`, {
      cause: error,
    })
  }
  process.stderr.write(`[redis setup] private redis-server (pid ${server.pid}) on ${server.url}\n`)
  project.provide('redisUrl', server.url)
  return () => server.stop()
}
