import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { FastifyBaseLogger } from 'fastify'
import { Redis, type RedisOptions } from 'ioredis'

export interface RedisSettings {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` */
  readonly url: string
  /** Namespace of every channel and key this server uses (`REDIS_KEY_PREFIX`). */
  readonly keyPrefix: string
}

/**
 * One Redis connection pair per process, shared by everything that speaks Redis (document sync,
 * presence, control messages, rate limits). A Redis outage never ends the process: both
 * connections reconnect forever with backoff, commands fail fast while Redis is away (no offline
 * queue: a caller is never left hanging on a dead server), and users resubscribe and resync in
 * `onUp`, which fires on every (re)connection — Redis may come back empty, with no subscriptions.
 */
export interface RedisConnection {
  /** This process's id in messages to the others (`<host>-<pid>-<random>`). */
  readonly instanceId: string
  readonly keyPrefix: string
  /** Commands and PUBLISH. */
  readonly client: Redis
  /** SUBSCRIBE only (a subscribed connection can run nothing else). */
  readonly subscriber: Redis
  /** `<keyPrefix><separator><name>`: a channel or key name in this server's namespace. */
  name(separator: string, name: string): string
  /** Both connections are connected (and were, after an outage, resubscribed by ioredis). */
  isUp(): boolean
  /** PING with a deadline: false when Redis is away, frozen or slower than `timeoutMs`. Never hangs. */
  ping(timeoutMs?: number): Promise<boolean>
  /**
   * Messages on channels whose name starts with `channelPrefix` go to `handler` (after
   * `subscriber.subscribe(channel)`). A throwing or rejecting handler is logged, never fatal.
   */
  route(channelPrefix: string, handler: (channel: string, message: Buffer) => unknown): () => void
  /** Runs `listener` each time Redis becomes reachable (at start and after every outage). */
  onUp(listener: () => unknown): () => void
  /** Runs `listener` each time Redis stops being reachable. */
  onDown(listener: () => unknown): () => void
  /** QUIT both connections (or drop them when Redis is away). */
  close(): Promise<void>
}

const RETRY_MAX_MS = 2_000
const CONNECT_TIMEOUT_MS = 2_000
/** A frozen server must not hold a request, a store or a document load for long. */
const COMMAND_TIMEOUT_MS = 2_000
const QUIT_TIMEOUT_MS = 1_000
const RECHECK_MS = 250

function options(instanceId: string, role: string): RedisOptions {
  return {
    lazyConnect: true,
    connectionName: `collab:${role}:${instanceId}`.slice(0, 128),
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    // Forever, with backoff and jitter so instances don't reconnect in lockstep.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), RETRY_MAX_MS) + Math.floor(Math.random() * 100),
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    autoResubscribe: true,
    keepAlive: 10_000,
  }
}

export function createRedis(settings: RedisSettings, log: FastifyBaseLogger): RedisConnection {
  const instanceId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
  const client = new Redis(settings.url, options(instanceId, 'pub'))
  const subscriber = new Redis(settings.url, options(instanceId, 'sub'))
  const routes = new Set<{ prefix: string; handler: (channel: string, message: Buffer) => unknown }>()
  const upListeners = new Set<() => unknown>()
  const downListeners = new Set<() => unknown>()
  let up = false
  let closed = false

  const run = (listener: () => unknown, what: string) => {
    try {
      Promise.resolve(listener()).catch((error) => log.error({ err: error }, `redis: ${what} listener failed`))
    } catch (error) {
      log.error({ err: error }, `redis: ${what} listener failed`)
    }
  }

  // One line per outage, not one per reconnect attempt. Errors name host and port at most, never
  // the URL (it may carry a password).
  let errorLogged = false
  const onError = (role: string) => (error: Error) => {
    if (errorLogged || closed) return
    errorLogged = true
    log.warn({ role, err: { message: error.message, code: (error as NodeJS.ErrnoException).code } }, 'redis: unreachable, retrying')
  }
  client.on('error', onError('pub'))
  subscriber.on('error', onError('sub'))

  const check = async () => {
    const nowUp = client.status === 'ready' && subscriber.status === 'ready'
    if (nowUp === up || closed) return
    if (nowUp) {
      // ioredis queues its resubscription right after 'ready'; a PING answered after it means
      // the old subscriptions are live again before anyone republishes.
      await new Promise((resolve) => setImmediate(resolve))
      const answered = await subscriber.ping().then(() => true, () => false)
      if (closed || up) return
      // Dropped again meanwhile: its next 'ready' checks again. Still connected: look again soon.
      if (!answered || client.status !== 'ready' || subscriber.status !== 'ready') {
        if (!answered) setTimeout(() => void check(), RECHECK_MS).unref()
        return
      }
      up = true
      errorLogged = false
      log.info('redis: connected')
      for (const listener of upListeners) run(listener, 'up')
    } else {
      up = false
      log.warn('redis: connection lost')
      for (const listener of downListeners) run(listener, 'down')
    }
  }
  for (const connection of [client, subscriber]) {
    for (const event of ['ready', 'close', 'end', 'reconnecting']) connection.on(event, () => void check())
  }

  subscriber.on('messageBuffer', (channelBuffer: Buffer, message: Buffer) => {
    const channel = channelBuffer.toString()
    for (const { prefix, handler } of routes) {
      if (!channel.startsWith(prefix)) continue
      try {
        const result = handler(channel, message)
        if (result instanceof Promise) result.catch((error) => log.warn({ err: error, channel }, 'redis: message handler failed'))
      } catch (error) {
        log.warn({ err: error, channel }, 'redis: message handler failed')
      }
    }
  })

  // Connect in the background: the server starts and serves its own clients without Redis.
  for (const connection of [client, subscriber]) connection.connect().catch(() => undefined)

  return {
    instanceId,
    keyPrefix: settings.keyPrefix,
    client,
    subscriber,
    name: (separator, name) => `${settings.keyPrefix}${separator}${name}`,
    isUp: () => up,
    async ping(timeoutMs = 1_000) {
      if (client.status !== 'ready') return false
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs)
      })
      try {
        return await Promise.race([client.ping().then(() => true, () => false), deadline])
      } finally {
        clearTimeout(timer)
      }
    },
    route(prefix, handler) {
      const entry = { prefix, handler }
      routes.add(entry)
      return () => routes.delete(entry)
    },
    onUp(listener) {
      upListeners.add(listener)
      // A listener added once the connection is already up (its owner was built after an await)
      // must still hear of it, or it would never subscribe until the next reconnection.
      if (up) queueMicrotask(() => upListeners.has(listener) && run(listener, 'up'))
      return () => upListeners.delete(listener)
    },
    onDown(listener) {
      downListeners.add(listener)
      return () => downListeners.delete(listener)
    },
    async close() {
      if (closed) return
      closed = true
      up = false
      await Promise.all(
        [client, subscriber].map(async (connection) => {
          if (connection.status !== 'ready') return connection.disconnect()
          const quit = connection.quit().then(() => undefined, () => undefined)
          const timeout = new Promise((resolve) => setTimeout(resolve, QUIT_TIMEOUT_MS).unref())
          await Promise.race([quit, timeout])
          connection.disconnect()
        }),
      )
    },
  }
}
