import { sql } from 'kysely'
import type { Db, UpdateKind } from '../db/schema.ts'
import { asBytes } from './update-log.queries.ts'

export const HOUR_MS = 3_600_000

/**
 * Takes (or renews) the lease `name` for `holder` until `now + leaseMs`. Atomic on both dialects:
 * the INSERT IGNORE creates the row if nobody ever held it, the conditional UPDATE takes it over
 * only when it is ours or expired (row-locked on MySQL, serialised writes on SQLite), and reading
 * it back says who won.
 */
export async function acquireJobLock(
  db: Db,
  name: string,
  holder: string,
  leaseMs: number,
  now = Date.now(),
): Promise<boolean> {
  const expires_at = now + leaseMs
  await db.insertInto('job_locks').ignore().values({ name, holder, expires_at }).execute()
  await db
    .updateTable('job_locks')
    .set({ holder, expires_at })
    .where('name', '=', name)
    .where((eb) => eb.or([eb('holder', '=', holder), eb('expires_at', '<=', now)]))
    .execute()
  const row = await db.selectFrom('job_locks').select('holder').where('name', '=', name).executeTakeFirst()
  return row?.holder === holder
}

/** Gives the lease up (only if `holder` still has it), so the next run anywhere need not wait it out. */
export async function releaseJobLock(db: Db, name: string, holder: string): Promise<void> {
  await db.deleteFrom('job_locks').where('name', '=', name).where('holder', '=', holder).execute()
}

/**
 * Documents with at least two unlabelled `update` rows older than `olderThan` in one hour: a coarse
 * filter (labels may still split the hour), so a pass looks only at documents that may have work.
 */
export async function documentsToCompact(db: Db, olderThan: number): Promise<string[]> {
  const hours = db
    .selectFrom('document_updates')
    .select('document_id')
    .where('created_at', '<', olderThan)
    .where('kind', '=', 'update')
    .where('label', 'is', null)
    .groupBy(['document_id', sql`created_at - created_at % ${sql.lit(HOUR_MS)}`])
    .having((eb) => eb.fn.countAll(), '>', 1)
  const rows = await db
    .selectFrom(hours.as('h'))
    .select('h.document_id')
    .distinct()
    .orderBy('h.document_id')
    .execute()
  return rows.map((r) => r.document_id)
}

/** A log row without its data. */
export interface RowOutline {
  seq: number
  createdAt: number
  kind: UpdateKind
  label: string | null
  bytes: number
  authors: string[]
}

export async function logOutline(db: Db, documentId: string): Promise<RowOutline[]> {
  const rows = await db
    .selectFrom('document_updates')
    .select(['seq', 'created_at', 'kind', 'label', 'bytes', 'authors'])
    .where('document_id', '=', documentId)
    .orderBy('seq')
    .execute()
  return rows.map((r) => ({
    seq: Number(r.seq),
    createdAt: Number(r.created_at),
    kind: r.kind,
    label: r.label,
    bytes: Number(r.bytes),
    authors: JSON.parse(r.authors) as string[],
  }))
}

/** The data of rows `fromSeq..toSeq` (inclusive), by seq. */
export async function rowData(
  db: Db,
  documentId: string,
  fromSeq: number,
  toSeq: number,
): Promise<Map<number, Uint8Array>> {
  const rows = await db
    .selectFrom('document_updates')
    .select(['seq', 'data'])
    .where('document_id', '=', documentId)
    .where('seq', '>=', fromSeq)
    .where('seq', '<=', toSeq)
    .execute()
  return new Map(rows.map((r) => [Number(r.seq), asBytes(r.data)]))
}

export interface CheckpointOutline {
  seq: number
  bytes: number
}

export async function checkpointOutline(db: Db, documentId: string): Promise<CheckpointOutline[]> {
  const rows = await db
    .selectFrom('document_checkpoints')
    .select(['seq', 'bytes'])
    .where('document_id', '=', documentId)
    .orderBy('seq')
    .execute()
  return rows.map((r) => ({ seq: Number(r.seq), bytes: Number(r.bytes) }))
}

export async function checkpointData(db: Db, documentId: string, seq: number): Promise<Uint8Array | undefined> {
  const row = await db
    .selectFrom('document_checkpoints')
    .select('data')
    .where('document_id', '=', documentId)
    .where('seq', '=', seq)
    .executeTakeFirst()
  return row && asBytes(row.data)
}

/** One hour's rows folded into its last row: `removed` go, `last` takes the merged data. */
export interface MergedRun {
  removed: number[]
  last: number
  data: Uint8Array
  authors: string[]
  /** Checkpoints at removed seqs: dropped, replaced by `checkpoint` at `last` if given. */
  checkpointsRemoved: number[]
  checkpoint?: Uint8Array
}

/**
 * Applies merged runs in one transaction. Every write is conditional on the rows still being
 * unlabelled `update` rows: a label set (or a merge by another instance) since they were read
 * makes the counts differ, and the whole chunk rolls back (returns false) instead of losing it.
 */
export async function applyMergedRuns(
  db: Db,
  documentId: string,
  runs: readonly MergedRun[],
  now = Date.now(),
): Promise<boolean> {
  try {
    await db.transaction().execute(async (trx) => {
      for (const run of runs) {
        const deleted = await trx
          .deleteFrom('document_updates')
          .where('document_id', '=', documentId)
          .where('seq', 'in', run.removed)
          .where('kind', '=', 'update')
          .where('label', 'is', null)
          .executeTakeFirst()
        const updated = await trx
          .updateTable('document_updates')
          .set({ data: run.data, bytes: run.data.byteLength, authors: JSON.stringify(run.authors) })
          .where('document_id', '=', documentId)
          .where('seq', '=', run.last)
          .where('kind', '=', 'update')
          .where('label', 'is', null)
          .executeTakeFirst()
        if (Number(deleted.numDeletedRows) !== run.removed.length || Number(updated.numUpdatedRows) !== 1) {
          throw new StaleRunError()
        }
        if (run.checkpointsRemoved.length === 0) continue
        await trx
          .deleteFrom('document_checkpoints')
          .where('document_id', '=', documentId)
          .where('seq', 'in', run.checkpointsRemoved)
          .execute()
        if (run.checkpoint) {
          await trx
            .insertInto('document_checkpoints')
            .ignore()
            .values({
              document_id: documentId,
              seq: run.last,
              data: run.checkpoint,
              bytes: run.checkpoint.byteLength,
              created_at: now,
            })
            .execute()
        }
      }
    })
    return true
  } catch (error) {
    if (error instanceof StaleRunError) return false
    throw error
  }
}

class StaleRunError extends Error {}

export async function deleteCheckpoints(db: Db, documentId: string, seqs: readonly number[]): Promise<void> {
  if (seqs.length === 0) return
  await db
    .deleteFrom('document_checkpoints')
    .where('document_id', '=', documentId)
    .where('seq', 'in', seqs)
    .execute()
}
