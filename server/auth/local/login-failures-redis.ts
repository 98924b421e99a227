import { createHash } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { RedisConnection } from '../../redis/connection.ts'
import { type AttemptCounterStore, type AttemptWindow, MemoryAttemptCounterStore } from './login-failures.ts'

// One window per key: a hash of { count, resetAt }, expiring when the window closes. Each script is
// one atomic step, so concurrent attempts on several instances never lose a count.
const INCREMENT = `
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
if count == 1 then
  redis.call('HSET', KEYS[1], 'resetAt', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return {count, redis.call('HGET', KEYS[1], 'resetAt')}
`
const DECREMENT = `
if redis.call('HGET', KEYS[1], 'resetAt') == ARGV[1] and tonumber(redis.call('HGET', KEYS[1], 'count')) > 0 then
  redis.call('HINCRBY', KEYS[1], 'count', -1)
end
return 0
`

interface AttemptCommands {
  collabAttemptIncrement(key: string, resetAt: number, windowMs: number): Promise<[number, string]>
  collabAttemptDecrement(key: string, resetAt: number): Promise<number>
}

/**
 * Attempt counts in Redis (multi-instance mode): every instance sees one count per email. Keys
 * hold a hash of the counted key, not the email itself. While Redis is unreachable the counts
 * fall back to this instance's memory (with one warning): sign-in keeps working and guesses are
 * still limited, per instance, until Redis answers again.
 */
export class RedisAttemptCounterStore implements AttemptCounterStore {
  readonly #redis: RedisConnection
  readonly #commands: AttemptCommands
  readonly #fallback = new MemoryAttemptCounterStore()
  readonly #log: FastifyBaseLogger
  #failing = false

  constructor(redis: RedisConnection, log: FastifyBaseLogger) {
    this.#redis = redis
    this.#log = log
    const { client } = redis
    // defineCommand sends the script once (EVALSHA after); shared clients define it once.
    if (!('collabAttemptIncrement' in client)) client.defineCommand('collabAttemptIncrement', { numberOfKeys: 1, lua: INCREMENT })
    if (!('collabAttemptDecrement' in client)) client.defineCommand('collabAttemptDecrement', { numberOfKeys: 1, lua: DECREMENT })
    this.#commands = client as unknown as AttemptCommands
  }

  async increment(key: string, windowMs: number, now: number): Promise<AttemptWindow> {
    try {
      const [count, resetAt] = await this.#commands.collabAttemptIncrement(this.#key(key), now + windowMs, windowMs)
      this.#answered()
      return { count: Number(count), resetAt: Number(resetAt) }
    } catch (error) {
      this.#failed(error as Error)
      return this.#fallback.increment(key, windowMs, now)
    }
  }

  async decrement(key: string, resetAt: number, now: number): Promise<void> {
    try {
      await this.#commands.collabAttemptDecrement(this.#key(key), resetAt)
      this.#answered()
    } catch (error) {
      this.#failed(error as Error)
    }
    // A window counted in memory during an outage; a no-op for any other.
    await this.#fallback.decrement(key, resetAt, now)
  }

  #key(key: string): string {
    return this.#redis.name('!', `attempts:${createHash('sha256').update(key).digest('base64url')}`)
  }

  #answered(): void {
    if (!this.#failing) return
    this.#failing = false
    this.#log.info('sign-in failure counts are shared again (Redis answers)')
  }

  #failed(error: Error): void {
    if (this.#failing) return
    this.#failing = true
    this.#log.warn(
      { err: { message: error.message } },
      'sign-in failure counts are kept per instance while Redis is unreachable',
    )
  }
}
