import { createRequire } from 'node:module'
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { RedisConnection } from '../redis/connection.ts'

type StoreResult = { current: number; ttl: number }
type StoreCallback = (error: Error | null, result?: StoreResult) => void
type ChildOptions = Parameters<FastifyRateLimitStore['child']>[0]

interface PluginRedisStore extends FastifyRateLimitStore {
  read(key: string, callback: StoreCallback, timeWindow: number, max: number): void
  child(options: ChildOptions): PluginRedisStore
}

// The plugin's own Redis store (one Lua INCR + PEXPIRE per request), the one its `redis` option
// builds; not exported by name, hence the require.
const RedisStore = createRequire(import.meta.url)('@fastify/rate-limit/store/RedisStore.js') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  redis: Redis,
  key: string,
) => PluginRedisStore

/** Says once per outage that limits are off, and once that they are back. */
class OutageLog {
  #failing = false
  readonly #log: FastifyBaseLogger

  constructor(log: FastifyBaseLogger) {
    this.#log = log
  }

  wrap(callback: StoreCallback): StoreCallback {
    return (error, result) => {
      if (error && !this.#failing) {
        this.#failing = true
        this.#log.warn(
          { err: { message: error.message } },
          'rate limits are not enforced while Redis is unreachable (requests are let through)',
        )
      } else if (!error && this.#failing) {
        this.#failing = false
        this.#log.info('rate limits are enforced again (Redis answers)')
      }
      callback(error, result)
    }
  }
}

/** Delegates to the plugin's Redis store; every answer passes the outage log on its way back. */
class LoggedStore implements FastifyRateLimitStore {
  readonly #inner: PluginRedisStore
  readonly #outages: OutageLog

  constructor(inner: PluginRedisStore, outages: OutageLog) {
    this.#inner = inner
    this.#outages = outages
  }

  incr(key: string, callback: StoreCallback, timeWindow: number, max: number): void {
    this.#inner.incr(key, this.#outages.wrap(callback), timeWindow, max)
  }

  read(key: string, callback: StoreCallback, timeWindow: number, max: number): void {
    this.#inner.read(key, this.#outages.wrap(callback), timeWindow, max)
  }

  child(options: ChildOptions): FastifyRateLimitStore {
    // The plugin passes the merged limit options with the route under `routeInfo` (typed as the
    // route itself); the key prefix is built from its method and URL. `app.createRateLimit` has no
    // route, and its limiters are told apart by their key generators: give the prefix a name.
    const { routeInfo } = options as unknown as { routeInfo?: { method?: string; url?: string } }
    const named = routeInfo?.url ? routeInfo : { ...routeInfo, method: 'ANY', url: ':limiter' }
    return new LoggedStore(this.#inner.child({ ...options, routeInfo: named } as unknown as ChildOptions), this.#outages)
  }
}

/**
 * The store for `@fastify/rate-limit` in multi-instance mode: counts live in Redis under
 * `<prefix>!rate-limit:`, so every instance spends from one budget per key. Used with
 * `skipOnError`: while Redis is unreachable (commands fail fast, or after the connection's command
 * timeout when it is frozen) requests pass uncounted rather than fail, with one warning.
 */
export function sharedRateLimitStore(redis: RedisConnection, log: FastifyBaseLogger): FastifyRateLimitStoreCtor {
  const outages = new OutageLog(log)
  const nameSpace = redis.name('!', 'rate-limit:')
  return class SharedRateLimitStore extends LoggedStore {
    constructor(options: { continueExceeding?: boolean; exponentialBackoff?: boolean }) {
      super(new RedisStore(options.continueExceeding ?? false, options.exponentialBackoff ?? false, redis.client, nameSpace), outages)
    }
  }
}
