import { createHash, randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import * as Y from 'yjs'
import type { Db } from '../db/schema.ts'
import { checkpointRowBound } from './retention-plan.ts'
import { applyStoredLog } from './replay.ts'
import { acquireJobLock, releaseJobLock } from './retention.queries.ts'
import { insertCheckpoint, readLog } from './update-log.queries.ts'

/** Longest a checkpoint write may hold a document's lease should its instance die mid-way. */
const CHECKPOINT_LEASE_MS = 60_000

/** What the update log knows of a loaded document's log, to tell when a checkpoint is due. */
export interface LogStats {
  checkpointBytes: number
  bytesSinceCheckpoint: number
  rowsSinceCheckpoint: number
  checkpointing: boolean
}

/**
 * Writes checkpoints (the merged state up to a seq) in the background once the rows since the last
 * one outweigh it, or once enough rows follow it (`checkpointMaxRows`, more for a large document):
 * so loading and reading any version replay a bounded number of rows, in time bounded by the
 * checkpoint's own, and checkpoints never cost much more than the log.
 */
export class Checkpoints {
  readonly #db: Db
  readonly #log: FastifyBaseLogger
  readonly #options: { checkpointMinBytes: number; checkpointMaxRows: number }
  readonly #background = new Set<Promise<void>>()
  /** This process's name in the checkpoint leases. */
  readonly #holder = randomUUID()
  #stopped = false

  constructor(db: Db, log: FastifyBaseLogger, options: { checkpointMinBytes: number; checkpointMaxRows: number }) {
    this.#db = db
    this.#log = log
    this.#options = options
  }

  /** Writes one after this turn of the event loop if one is due and none is being written. */
  maybeWrite(documentName: string, stats: LogStats): void {
    if (!this.#isDue(stats) || stats.checkpointing || this.#stopped) return
    stats.checkpointing = true
    const work = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#write(documentName, stats))
      .catch((error) => this.#log.error({ err: error, documentName }, 'update log: checkpoint failed'))
      .finally(() => {
        stats.checkpointing = false
        this.#background.delete(work)
      })
    this.#background.add(work)
  }

  /** Starts no more; resolves once those being written are done. */
  async stop(): Promise<void> {
    this.#stopped = true
    await Promise.allSettled([...this.#background])
  }

  #isDue(stats: Pick<LogStats, 'checkpointBytes' | 'bytesSinceCheckpoint' | 'rowsSinceCheckpoint'>): boolean {
    return (
      stats.bytesSinceCheckpoint > Math.max(stats.checkpointBytes, this.#options.checkpointMinBytes) ||
      stats.rowsSinceCheckpoint >= checkpointRowBound(stats.checkpointBytes, this.#options.checkpointMaxRows)
    )
  }

  /**
   * One instance at a time, under a short lease: with several instances appending to one log
   * (multi-instance mode), each counts only its own rows, and two would otherwise rebuild the same
   * state at once. What decides is the log as read under the lease, other instances' rows and
   * checkpoints included: one written a moment ago elsewhere makes this one not due. (A duplicate
   * would be harmless — `insertCheckpoint` ignores a second one at the same seq — just wasted work.)
   */
  async #write(documentName: string, stats: LogStats): Promise<void> {
    const lease = `checkpoint:${createHash('sha256').update(documentName).digest('base64url')}`
    if (!(await acquireJobLock(this.#db, lease, this.#holder, CHECKPOINT_LEASE_MS))) return
    try {
      await this.#writeLeased(documentName, stats)
    } finally {
      await releaseJobLock(this.#db, lease, this.#holder).catch(() => undefined)
    }
  }

  /**
   * Rebuilds the state from the database rather than encoding the live document: the live one may
   * hold updates not yet in the log, and a checkpoint must equal the log up to its seq exactly.
   */
  async #writeLeased(documentName: string, stats: LogStats): Promise<void> {
    const log = await readLog(this.#db, documentName)
    const { checkpoint, updates } = log
    const last = updates.at(-1)
    if (!last) return
    const inLog = {
      checkpointBytes: checkpoint?.data.byteLength ?? 0,
      bytesSinceCheckpoint: updates.reduce((sum, row) => sum + row.data.byteLength, 0),
      rowsSinceCheckpoint: updates.length,
    }
    if (!this.#isDue(inLog)) {
      Object.assign(stats, inLog)
      return
    }
    const scratch = new Y.Doc()
    try {
      applyStoredLog(scratch, log)
      const state = Y.encodeStateAsUpdate(scratch)
      await insertCheckpoint(this.#db, documentName, last.seq, state)
      stats.checkpointBytes = state.byteLength
      stats.bytesSinceCheckpoint = Math.max(0, stats.bytesSinceCheckpoint - inLog.bytesSinceCheckpoint)
      stats.rowsSinceCheckpoint = Math.max(0, stats.rowsSinceCheckpoint - updates.length)
      this.#log.debug(
        { documentName, seq: last.seq, bytes: state.byteLength },
        'update log: checkpoint written',
      )
    } finally {
      scratch.destroy()
    }
  }
}
