import type { FastifyBaseLogger } from 'fastify'
import type { Db, UpdateKind } from '../db/schema.ts'

export interface UpdateLogOptions {
  db: Db
  log: FastifyBaseLogger
  /**
   * Raw update bytes merged into one row at most. Keeps every row far below MySQL's packet limit
   * (mysql2 sends blobs hex-encoded, doubling them), whatever backlog a client brings.
   */
  maxRowBytes?: number
  /** A checkpoint is due once the rows since the last one outweigh it, and weigh at least this. */
  checkpointMinBytes?: number
  /**
   * …or once this many rows follow the last one, however small (more for a large document: see
   * `Checkpoints`): a long run of tiny edits would otherwise never earn a checkpoint, and reading
   * any version replays the rows after the checkpoint before it.
   */
  checkpointMaxRows?: number
  /** First retry delay after a failed store; doubles up to `retryMaxMs`. */
  retryBaseMs?: number
  retryMaxMs?: number
}

export const updateLogDefaults = {
  maxRowBytes: 4 * 1024 * 1024,
  checkpointMinBytes: 64 * 1024,
  checkpointMaxRows: 200,
  retryBaseMs: 500,
  retryMaxMs: 30_000,
}

/** Rows just appended to a document's log (their transaction has committed). */
export interface StoredRows {
  documentName: string
  rows: { seq: number; authors: readonly string[]; kind: UpdateKind; label: string | null; createdAt: number }[]
}

/** How a server-side edit is recorded in the log. */
export interface ServerEditRecord {
  author: string
  kind: UpdateKind
  label?: string | null
}


/** What the log has done since start, read by the metrics endpoint at scrape time. */
export interface UpdateLogTotals {
  rowsAppended: number
  bytesAppended: number
  /** Appends that threw (each is retried; a document's retries count once each). */
  storeFailures: number
}
