import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import * as Y from 'yjs'
import type { Db } from '../db/schema.ts'
import { mergeUpdatesBounded } from './merge-updates.ts'
import { checkpointsToDrop, planRuns, uniteAuthors } from './retention-plan.ts'
import {
  acquireJobLock,
  applyMergedRuns,
  type CheckpointOutline,
  checkpointData,
  checkpointOutline,
  deleteCheckpoints,
  documentsToCompact,
  logOutline,
  type MergedRun,
  releaseJobLock,
  type RowOutline,
  rowData,
} from './retention.queries.ts'
import { updateLogDefaults } from './update-log.options.ts'

/** The `job_locks` row: one instance at a time runs retention. */
export const RETENTION_LOCK = 'version-retention'

const DAY_MS = 86_400_000

export interface RetentionOptions {
  db: Db
  log: FastifyBaseLogger
  /** Unlabelled rows older than this many days are merged, one row per hour. */
  retentionDays: number
  /** Between passes. */
  intervalMs?: number
  /** Before the first pass after start. */
  startDelayMs?: number
  /** The lock's lease; renewed before each chunk, so only a stalled holder loses it. */
  leaseMs?: number
  /** Source rows merged per transaction. */
  chunkRows?: number
  maxRowBytes?: number
  checkpointMinBytes?: number
  checkpointMaxRows?: number
}

export const retentionDefaults = {
  intervalMs: 3_600_000,
  startDelayMs: 30_000,
  leaseMs: 600_000,
  chunkRows: 2_000,
  // Same limits as the log writer: merged rows stay within its row cap, and checkpoints are kept
  // as densely as it writes them.
  maxRowBytes: updateLogDefaults.maxRowBytes,
  checkpointMinBytes: updateLogDefaults.checkpointMinBytes,
  checkpointMaxRows: updateLogDefaults.checkpointMaxRows,
}

type Settings = typeof retentionDefaults

export interface RetentionResult {
  /** `locked`: another instance holds the lock (or took it over); `stopped`: shutdown cut it short. */
  status: 'done' | 'locked' | 'stopped'
  /** Documents whose log changed. */
  documents: number
  /** Rows folded into a later row of their hour (deleted). */
  rowsRemoved: number
  /** Rows that now hold a merged hour. */
  rowsMerged: number
  checkpointsDropped: number
  /** Chunks rolled back because their rows changed meanwhile (a label set); retried next pass. */
  staleChunks: number
}

/**
 * One retention pass, under the database lock: for each document with work, folds old unlabelled
 * rows into one row per hour (the hour's last seq survives, with the merged data and the united
 * authors, so every surviving version reads exactly as before), then drops checkpoints nothing
 * needs. The live document is untouched: merging old rows changes no state. `keepGoing` is asked
 * between chunks (shutdown).
 */
export async function runRetention(options: RetentionOptions, keepGoing = () => true): Promise<RetentionResult> {
  const { db, log } = options
  const settings = settingsOf(options)
  const result: RetentionResult = {
    status: 'done',
    documents: 0,
    rowsRemoved: 0,
    rowsMerged: 0,
    checkpointsDropped: 0,
    staleChunks: 0,
  }
  const holder = randomUUID()
  if (!(await acquireJobLock(db, RETENTION_LOCK, holder, settings.leaseMs))) {
    log.debug('retention: another instance holds the lock')
    return { ...result, status: 'locked' }
  }
  const renew = async (): Promise<boolean> => {
    if (!keepGoing()) {
      result.status = 'stopped'
      return false
    }
    if (await acquireJobLock(db, RETENTION_LOCK, holder, settings.leaseMs)) return true
    log.warn('retention: lost the lock to another instance; stopping this pass')
    result.status = 'locked'
    return false
  }
  try {
    const olderThan = Date.now() - options.retentionDays * DAY_MS
    const documents = await documentsToCompact(db, olderThan)
    log.debug({ documents: documents.length }, 'retention: pass started')
    for (const documentId of documents) {
      if (!(await renew())) break
      try {
        const done = await compactDocument(db, documentId, olderThan, settings, renew)
        result.rowsRemoved += done.rowsRemoved
        result.rowsMerged += done.rowsMerged
        result.checkpointsDropped += done.checkpointsDropped
        result.staleChunks += done.staleChunks
        if (done.rowsRemoved > 0) {
          result.documents++
          log.info({ documentId, ...done }, 'retention: merged old rows')
        }
      } catch (error) {
        log.error({ err: error, documentId }, 'retention: document failed; its log is unchanged past the last chunk')
      }
    }
    const level = result.documents > 0 ? 'info' : 'debug'
    log[level]({ ...result, candidates: documents.length }, 'retention: pass finished')
    return result
  } finally {
    await releaseJobLock(db, RETENTION_LOCK, holder).catch((error: unknown) =>
      log.warn({ err: error }, 'retention: could not release the lock; it expires on its own'),
    )
  }
}

type DocumentResult = Omit<RetentionResult, 'status' | 'documents'>

async function compactDocument(
  db: Db,
  documentId: string,
  olderThan: number,
  settings: Settings,
  renew: () => Promise<boolean>,
): Promise<DocumentResult> {
  const done: DocumentResult = { rowsRemoved: 0, rowsMerged: 0, checkpointsDropped: 0, staleChunks: 0 }
  const runs = planRuns(await logOutline(db, documentId), olderThan, settings.maxRowBytes)
  if (runs.length === 0) return done
  let checkpoints = await checkpointOutline(db, documentId)
  for (const chunk of chunksOf(runs, settings.chunkRows)) {
    if (!(await renew())) break
    const merged = await mergeChunk(db, documentId, chunk, checkpoints)
    if (!merged || !(await applyMergedRuns(db, documentId, merged))) {
      done.staleChunks++
      continue
    }
    for (const run of merged) {
      done.rowsRemoved += run.removed.length
      done.rowsMerged++
      checkpoints = checkpoints.filter((c) => !run.checkpointsRemoved.includes(c.seq))
      if (run.checkpoint) checkpoints.push({ seq: run.last, bytes: run.checkpoint.byteLength })
    }
  }
  // Merged rows weigh less than the rows they replace, so checkpoints written for the old weight
  // may now be closer together than reads need.
  const rows = await logOutline(db, documentId)
  const drop = checkpointsToDrop(await checkpointOutline(db, documentId), rows, {
    minBytes: settings.checkpointMinBytes,
    maxRows: settings.checkpointMaxRows,
  })
  await deleteCheckpoints(db, documentId, drop)
  done.checkpointsDropped = drop.length
  return done
}

/**
 * Merges each run of a chunk in memory. A checkpoint at a seq that disappears (inside a run) is
 * replaced by one at the run's last seq: its state plus the merged row is exactly the state there.
 * Returns undefined when rows are missing (another instance merged them meanwhile).
 */
async function mergeChunk(
  db: Db,
  documentId: string,
  chunk: readonly RowOutline[][],
  checkpoints: readonly CheckpointOutline[],
): Promise<MergedRun[] | undefined> {
  const data = await rowData(db, documentId, chunk[0]![0]!.seq, chunk.at(-1)!.at(-1)!.seq)
  const merged: MergedRun[] = []
  for (const run of chunk) {
    const updates = run.map((row) => data.get(row.seq))
    if (updates.some((u) => u === undefined)) return undefined
    const mergedData = mergeUpdatesBounded(updates as Uint8Array[])
    const first = run[0]!.seq
    const last = run.at(-1)!.seq
    const inside = checkpoints.filter((c) => c.seq >= first && c.seq < last).map((c) => c.seq)
    let checkpoint: Uint8Array | undefined
    if (inside.length > 0 && !checkpoints.some((c) => c.seq === last)) {
      const base = await checkpointData(db, documentId, inside.at(-1)!)
      if (base) checkpoint = stateOf([base, mergedData])
    }
    merged.push({
      removed: run.slice(0, -1).map((row) => row.seq),
      last,
      data: mergedData,
      authors: uniteAuthors(run),
      checkpointsRemoved: inside,
      checkpoint,
    })
  }
  return merged
}

/** Encoded the way the log writer encodes checkpoints: the state of a document built from `updates`. */
function stateOf(updates: readonly Uint8Array[]): Uint8Array {
  const doc = new Y.Doc()
  try {
    doc.transact(() => {
      for (const update of updates) Y.applyUpdate(doc, update)
    })
    return Y.encodeStateAsUpdate(doc)
  } finally {
    doc.destroy()
  }
}

function* chunksOf(runs: readonly RowOutline[][], maxRows: number): Generator<RowOutline[][]> {
  let chunk: RowOutline[][] = []
  let rows = 0
  for (const run of runs) {
    if (chunk.length > 0 && rows + run.length > maxRows) {
      yield chunk
      chunk = []
      rows = 0
    }
    chunk.push(run)
    rows += run.length
  }
  if (chunk.length > 0) yield chunk
}

function settingsOf(options: RetentionOptions): Settings {
  return {
    intervalMs: options.intervalMs ?? retentionDefaults.intervalMs,
    startDelayMs: options.startDelayMs ?? retentionDefaults.startDelayMs,
    leaseMs: options.leaseMs ?? retentionDefaults.leaseMs,
    chunkRows: options.chunkRows ?? retentionDefaults.chunkRows,
    maxRowBytes: options.maxRowBytes ?? retentionDefaults.maxRowBytes,
    checkpointMinBytes: options.checkpointMinBytes ?? retentionDefaults.checkpointMinBytes,
    checkpointMaxRows: options.checkpointMaxRows ?? retentionDefaults.checkpointMaxRows,
  }
}

/** Runs `runRetention` shortly after start and then every `intervalMs`, until stopped. */
export class RetentionJob {
  readonly #options: RetentionOptions
  readonly #settings: Settings
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> | undefined
  #stopped = false

  constructor(options: RetentionOptions) {
    this.#options = options
    this.#settings = settingsOf(options)
  }

  start(): void {
    this.#schedule(this.#settings.startDelayMs)
  }

  /** Lets a pass in progress finish its current chunk, and waits for it. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#running = runRetention(this.#options, () => !this.#stopped)
        .catch((error: unknown) => this.#options.log.error({ err: error }, 'retention: pass failed'))
        .finally(() => {
          this.#running = undefined
          this.#schedule(this.#settings.intervalMs)
        })
    }, delayMs)
    // Never the reason the process stays up.
    this.#timer.unref()
  }
}
