import { Writable } from 'node:stream'
import { expect } from 'vitest'
import type { Config } from '../../server/config/config.ts'
import type { Db, OutboxRow } from '../../server/db/schema.ts'
import type { DeliveryTiming } from '../../server/notifications/delivery.ts'
import { startServer } from '../../server/server.ts'
import { defer } from './cleanup.ts'
import { type ConfigOverrides, testConfig } from './server.ts'

/** Delivery timing for tests: the same code paths, in milliseconds instead of seconds and minutes. */
export const fastDelivery = {
  outbox: { pollIntervalMs: 50, retryBaseMs: 100, retryMaxMs: 400, stopGraceMs: 500 },
  digests: { intervalMs: 50, minuteMs: 400 },
  documentWebhooks: { quietMs: 500, maxWaitMs: 3_000 },
} satisfies DeliveryTiming

export interface LogCapture {
  lines: () => { level: number; msg: string; [key: string]: unknown }[]
}

/**
 * The production server (`startServer`) on port 0 with delivery timing for tests, closed after the
 * test. With `captureLogs`, warn and above are kept for the test to read.
 */
export async function startDeliveryServer(
  database: Config['database'],
  overrides: ConfigOverrides = {},
  options: { timing?: DeliveryTiming; captureLogs?: boolean } = {},
) {
  const config = testConfig(database, overrides)
  const lines: string[] = []
  const logger = options.captureLogs
    ? {
        level: 'warn',
        stream: new Writable({
          write(chunk, _encoding, done) {
            lines.push(String(chunk))
            done()
          },
        }),
      }
    : undefined
  const server = await startServer(config, { delivery: options.timing ?? fastDelivery, logger })
  defer(() => server.close())
  const logs: LogCapture = { lines: () => lines.flatMap((l) => l.split('\n').filter(Boolean).map((x) => JSON.parse(x))) }
  return Object.assign(server, { config, logs })
}

export type DeliveryServer = Awaited<ReturnType<typeof startDeliveryServer>>

export async function outboxRows(db: Db, channel?: OutboxRow['channel']): Promise<OutboxRow[]> {
  let query = db.selectFrom('outbox').selectAll().orderBy('created_at', 'asc')
  if (channel) query = query.where('channel', '=', channel)
  return query.execute()
}

/**
 * The outbox rows once no send is in flight. A receiver records a request when it answers, a moment
 * before the worker writes the outcome to the row; reading the rows right after the receiver saw the
 * last request would race that write.
 */
export async function settledOutboxRows(db: Db, channel?: OutboxRow['channel']): Promise<OutboxRow[]> {
  let rows: OutboxRow[] = []
  const inFlight = async () => {
    rows = await outboxRows(db, channel)
    return rows.filter((row) => row.claimed_by !== null).length
  }
  await expect.poll(inFlight, { timeout: 10_000, interval: 50 }).toBe(0)
  return rows
}
