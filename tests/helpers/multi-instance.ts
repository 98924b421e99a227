import { randomBytes } from 'node:crypto'
import type { Awareness } from 'y-protocols/awareness'
import * as Y from 'yjs'
import type { DatabaseTarget } from '../../server/config/config.ts'
import { connectDatabase } from '../../server/db/connect.ts'
import type { Db } from '../../server/db/schema.ts'
import { docToJson } from '../../server/documents/content.ts'
import { defer } from './cleanup.ts'
import { type ServerProcess, startServerProcess } from './process.ts'
import { testRedisUrl, uniqueRedisPrefix } from './redis.ts'

export interface InstanceOptions {
  /** Default: the run's Redis. */
  redisUrl?: string
  /** Settings every instance gets (over the test defaults). */
  env?: Record<string, string>
  /** Settings for one instance only, by position. */
  perInstance?: Record<string, string>[]
}

/**
 * Two real server processes in multi-instance mode, as behind a load balancer: one database, one
 * Redis with a key prefix of their own, one AUTH_SECRET. Started one after another (the first
 * migrates the database); each is stopped with SIGTERM after the test unless the test did.
 */
export async function startInstances(
  database: DatabaseTarget,
  options: InstanceOptions = {},
): Promise<[ServerProcess, ServerProcess]> {
  const [a, b] = await start(database, 2, options)
  return [a!, b!]
}

/** `count` such processes sharing one database, Redis prefix and secret. */
export function startInstanceGroup(database: DatabaseTarget, count: number, options: InstanceOptions = {}): Promise<ServerProcess[]> {
  return start(database, count, options)
}

/** One such process: the same edits through one instance, to compare with two. */
export async function startInstance(database: DatabaseTarget, options: InstanceOptions = {}): Promise<ServerProcess> {
  const [instance] = await start(database, 1, options)
  return instance!
}

async function start(database: DatabaseTarget, count: number, options: InstanceOptions): Promise<ServerProcess[]> {
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: options.redisUrl ?? testRedisUrl(),
    REDIS_KEY_PREFIX: uniqueRedisPrefix('mi'),
    AUTH_SECRET: randomBytes(36).toString('base64url'),
    LOG_LEVEL: 'info',
    STORE_DEBOUNCE_MS: '50',
    STORE_MAX_DEBOUNCE_MS: '200',
    RATE_LIMIT_PER_MINUTE: '100000',
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    LOGIN_FAILURES_PER_EMAIL: '100000',
    ...options.env,
  }
  const instances: ServerProcess[] = []
  for (let i = 0; i < count; i++) {
    const instance = await startServerProcess({ ...env, ...options.perInstance?.[i] })
    defer(() => instance.stop())
    instances.push(instance)
  }
  return instances
}

/** The test's own connection to the instances' database, closed after the test. */
export function openDatabase(database: DatabaseTarget): Db {
  const handle = connectDatabase(database, { poolSize: 2 })
  defer(() => handle.close())
  return handle.db
}

/** The log's seqs for a document, in order. */
export async function seqs(db: Db, documentId: string): Promise<number[]> {
  const rows = await db
    .selectFrom('document_updates')
    .select('seq')
    .where('document_id', '=', documentId)
    .orderBy('seq')
    .execute()
  return rows.map((r) => Number(r.seq))
}

/** Every root as JSON, the way the REST API and the log replay see a document. */
export function contentJson(doc: Y.Doc): Record<string, unknown> {
  const copy = new Y.Doc()
  try {
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
    return docToJson(copy)
  } finally {
    copy.destroy()
  }
}

/** The `marker` fields of the presence states an awareness shows (other clients' included). */
export function markers(awareness: Awareness): string[] {
  return [...awareness.getStates().values()]
    .map((state) => (state as { marker?: unknown }).marker)
    .filter((marker): marker is string => typeof marker === 'string')
}

export function stopAll(instances: ServerProcess[]): Promise<(number | null)[]> {
  return Promise.all(instances.map((instance) => instance.stop()))
}
