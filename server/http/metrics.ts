import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { CollabMetrics } from '../collab/collab-metrics.ts'
import type { Db } from '../db/schema.ts'
import type { UpdateLogTotals } from '../versions/update-log.options.ts'

/** What the metrics read; each owner keeps plain counters, turned into metrics at scrape time. */
export interface MetricsSources {
  collab: CollabMetrics
  documents: { getDocumentsCount(): number }
  updateLog: {
    readonly totals: UpdateLogTotals
    pendingTotal(): number
    timeStores(observe: (seconds: number) => void): void
  }
  db: Db
  log: FastifyBaseLogger
}

/** Outbox counts are a query: one per this long at most, however often Prometheus scrapes. */
const OUTBOX_CACHE_MS = 5_000
/** A scrape never waits longer than this for the outbox count; it reports the last one instead. */
const OUTBOX_QUERY_TIMEOUT_MS = 2_000

const STORE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/**
 * The server's Prometheus metrics, in a registry of its own (not prom-client's global one, so
 * several servers in one process, as in tests, never share or collide). Gauges are computed when
 * scraped; counters fed from the hot path are plain numbers the owner increments (a field add, no
 * allocation) and are brought up to date here at scrape time.
 */
export class Metrics {
  readonly registry = new Registry()
  readonly #httpDuration: Histogram<'method' | 'route' | 'status'>
  readonly #rateLimited: Counter<'route'>
  #redisConnected: () => boolean = () => false

  constructor(sources: MetricsSources) {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry })
    const { collab, updateLog } = sources

    const connections = new Gauge({
      name: 'collab_connections',
      help: 'Open WebSocket connections, by protocol (collab = Hocuspocus, y-websocket)',
      labelNames: ['protocol'] as const,
      registers,
      collect() {
        for (const [protocol, open] of Object.entries(collab.connections)) this.labels(protocol).set(open)
      },
    })
    // Both series exist from the start, at 0, so dashboards and rate() see them before any client.
    for (const protocol of Object.keys(collab.connections)) connections.labels(protocol).set(0)
    new Gauge({
      name: 'collab_documents_loaded',
      help: 'Documents held in memory',
      registers,
      collect() {
        this.set(sources.documents.getDocumentsCount())
      },
    })
    new Gauge({
      name: 'collab_pending_updates',
      help: 'Updates received and not yet appended to the log',
      registers,
      collect() {
        this.set(updateLog.pendingTotal())
      },
    })
    const totals = updateLog.totals
    countFrom(registers, 'collab_updates_received_total', 'Document updates received from clients (one per frame)', () => collab.updatesReceived)
    countFrom(registers, 'collab_log_rows_appended_total', 'Rows appended to the update log', () => totals.rowsAppended)
    countFrom(registers, 'collab_log_bytes_appended_total', 'Bytes of update data appended to the update log', () => totals.bytesAppended)
    countFrom(registers, 'collab_store_failures_total', 'Appends to the update log that failed (each is retried)', () => totals.storeFailures)
    countFrom(
      registers,
      'collab_readonly_updates_dropped_total',
      'Updates sent by read-only connections and dropped',
      () => collab.droppedReadOnlyUpdates,
    )
    countFrom(registers, 'collab_invalid_messages_total', 'Frames refused as undecodable', () => collab.invalidMessages)
    countFrom(
      registers,
      'collab_awareness_states_dropped_total',
      'Awareness states refused (foreign client id, too many ids, too large)',
      () => collab.droppedAwarenessStates,
    )
    const storeDuration = new Histogram({
      name: 'collab_store_duration_seconds',
      help: 'Time to append one batch of updates to the log (the database write)',
      buckets: STORE_BUCKETS,
      registers,
    })
    updateLog.timeStores((seconds) => storeDuration.observe(seconds))

    this.#httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'REST request duration, by method, matched route pattern and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    })
    this.#rateLimited = new Counter({
      name: 'http_rate_limited_total',
      help: 'Requests refused by a rate limit (429), by matched route pattern',
      labelNames: ['route'] as const,
      registers,
    })

    const outbox = new OutboxDepth(sources.db, sources.log)
    new Gauge({
      name: 'outbox_pending',
      help: 'Outbox deliveries (email, webhooks) not yet sent, including those being retried',
      registers,
      async collect() {
        this.set((await outbox.read()).pending)
      },
    })
    new Gauge({
      name: 'outbox_dead',
      help: 'Outbox deliveries dead-lettered after OUTBOX_MAX_ATTEMPTS tries',
      registers,
      async collect() {
        this.set((await outbox.read()).dead)
      },
    })
    const redisConnected = () => this.#redisConnected()
    new Gauge({
      name: 'redis_connected',
      help: 'Whether this instance is connected to Redis (1) or not (0); 0 in single-instance mode',
      registers,
      collect() {
        this.set(redisConnected() ? 1 : 0)
      },
    })
  }

  /**
   * Wires `redis_connected` (multi-instance mode): `probe` is asked at each scrape. Until it is
   * called the gauge reads 0, which is right for a single instance without Redis.
   */
  setRedisProbe(probe: () => boolean): void {
    this.#redisConnected = probe
  }

  /** Times every response and counts 429s, labelled with the matched route pattern. */
  observeRequests(app: FastifyInstance): void {
    app.addHook('onResponse', async (request, reply) => {
      // The pattern (`/api/v1/documents/:id`), never the URL: ids would make a series each.
      const route = request.routeOptions.url ?? 'unmatched'
      const status = reply.statusCode
      this.#httpDuration.observe({ method: request.method, route, status: String(status) }, reply.elapsedTime / 1000)
      if (status === 429) this.#rateLimited.inc({ route })
    })
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics()
  }
}

/** A counter that follows a plain, only-growing number kept by its owner. */
function countFrom(registers: Registry[], name: string, help: string, read: () => number): void {
  let seen = 0
  new Counter({
    name,
    help,
    registers,
    collect() {
      const now = read()
      if (now > seen) this.inc(now - seen)
      seen = now
    },
  })
}

/** Outbox rows waiting and dead, from one grouped COUNT on the (status, next_attempt_at) index, cached. */
class OutboxDepth {
  readonly #db: Db
  readonly #log: FastifyBaseLogger
  #value = { pending: 0, dead: 0 }
  #readAt = -Infinity
  #reading: Promise<void> | undefined

  constructor(db: Db, log: FastifyBaseLogger) {
    this.#db = db
    this.#log = log
  }

  async read(): Promise<{ pending: number; dead: number }> {
    if (Date.now() - this.#readAt < OUTBOX_CACHE_MS) return this.#value
    this.#reading ??= this.#query().finally(() => {
      this.#reading = undefined
    })
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, OUTBOX_QUERY_TIMEOUT_MS)
      timer.unref()
    })
    await Promise.race([this.#reading, timeout])
    clearTimeout(timer)
    return this.#value
  }

  async #query(): Promise<void> {
    try {
      const rows = await this.#db
        .selectFrom('outbox')
        .select((eb) => ['status', eb.fn.countAll<number | string>().as('count')])
        .where('status', 'in', ['pending', 'dead'])
        .groupBy('status')
        .execute()
      const count = (status: string) => Number(rows.find((row) => row.status === status)?.count ?? 0)
      this.#value = { pending: count('pending'), dead: count('dead') }
      this.#readAt = Date.now()
    } catch (error) {
      // The last counts stand; /ready reports the database itself.
      this.#log.warn({ err: error }, 'metrics: could not count the outbox')
    }
  }
}
