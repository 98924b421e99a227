import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { type PrivateRedis, startPrivateRedis } from '../setup/redis.ts'
import { defer } from './cleanup.ts'

/** The run's Redis (tests/setup/redis.global-setup.ts); throws when none was provided. */
export function testRedisUrl(): string {
  const url = inject('redisUrl')
  if (!url) throw new Error('This test needs Redis, but none was provided (see tests/setup/redis.ts)')
  return url
}

/** A key prefix of its own, so tests sharing the run's Redis never see each other's channels. */
export function uniqueRedisPrefix(name = 'test'): string {
  return `${name}-${randomBytes(4).toString('hex')}`
}

/** A private redis-server for this test alone (outage tests kill and restart it); stopped after it. */
export async function startTestRedis(): Promise<PrivateRedis> {
  const redis = await startPrivateRedis()
  defer(() => redis.stop())
  return redis
}
