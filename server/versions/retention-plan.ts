import { type CheckpointOutline, HOUR_MS, type RowOutline } from './retention.queries.ts'

const hourOf = (createdAt: number) => createdAt - (createdAt % HOUR_MS)

/** Only plain edits are merged; named versions, restores and imports stay rows of their own. */
const mergeable = (row: RowOutline, olderThan: number) =>
  row.kind === 'update' && row.label === null && row.createdAt < olderThan

/**
 * Runs of consecutive rows (in seq order) to fold into one row each: unlabelled `update` rows older
 * than `olderThan`, within one hour of `created_at`. Any other row ends a run, so nothing is ever
 * merged across a named version, a restore or an import. A run is also cut before it would exceed
 * `maxRowBytes` (the log writer's cap on a row, which keeps MySQL packets small): an hour holding
 * more than that becomes several rows. Only runs of two or more rows are returned.
 */
export function planRuns(rows: readonly RowOutline[], olderThan: number, maxRowBytes: number): RowOutline[][] {
  const runs: RowOutline[][] = []
  let run: RowOutline[] = []
  let runBytes = 0
  const close = () => {
    if (run.length > 1) runs.push(run)
    run = []
    runBytes = 0
  }
  for (const row of rows) {
    if (!mergeable(row, olderThan)) {
      close()
      continue
    }
    const first = run[0]
    if (first && (hourOf(first.createdAt) !== hourOf(row.createdAt) || runBytes + row.bytes > maxRowBytes)) close()
    run.push(row)
    runBytes += row.bytes
  }
  close()
  return runs
}

/** Authors of several rows, each once, in order of first appearance. */
export function uniteAuthors(rows: readonly { authors: readonly string[] }[]): string[] {
  return [...new Set(rows.flatMap((row) => row.authors))]
}

/** The log writer's checkpoint spacing (see update-log.extension.ts). */
export interface CheckpointBudget {
  minBytes: number
  maxRows: number
}

/**
 * A large document's checkpoint is due after one row per this many bytes of its last checkpoint,
 * when that is more than `maxRows`. Replaying a row costs about 10 µs, applying a checkpoint about
 * 60 ms per MB, so the rows replayed after a checkpoint never cost more than a fifth of applying
 * it; and a run of keystrokes (rows of ~50 bytes) into a 1 MB document is checkpointed every
 * 2,048 rows instead of every 200: a tenth of the checkpoint storage.
 */
const CHECKPOINT_BYTES_PER_ROW = 512

/** How many rows may follow a checkpoint of `checkpointBytes` before another is due. */
export function checkpointRowBound(checkpointBytes: number, maxRows: number): number {
  return Math.max(maxRows, Math.floor(checkpointBytes / CHECKPOINT_BYTES_PER_ROW))
}

/**
 * Checkpoints that can go once merging has shrunk the rows between them. The log writer checkpoints
 * once the rows since the last checkpoint outweigh it (and `minBytes`) or number its row bound, which
 * bounds what reading any version costs; a checkpoint is kept only where dropping it would break
 * that bound for the versions after it, i.e. when the rows from the previous kept checkpoint up to
 * the next one outweigh the previous one or are too many. The newest is always kept (loading the
 * document starts there).
 */
export function checkpointsToDrop(
  checkpoints: readonly CheckpointOutline[],
  rows: readonly { seq: number; bytes: number }[],
  budget: CheckpointBudget,
): number[] {
  const sorted = [...checkpoints].sort((a, b) => a.seq - b.seq)
  const seqs = rows.map((row) => row.seq).sort((a, b) => a - b)
  const bySeq = new Map(rows.map((row) => [row.seq, row.bytes]))
  // Running totals, so each span costs a binary search rather than a pass over a long log.
  const totals = new Float64Array(seqs.length + 1)
  seqs.forEach((seq, i) => (totals[i + 1] = totals[i]! + bySeq.get(seq)!))
  /** How many rows have a seq at or below `seq`. */
  const rowsUpTo = (seq: number) => {
    let lo = 0
    let hi = seqs.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (seqs[mid]! <= seq) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  const fits = (after: CheckpointOutline, upTo: number) =>
    totals[rowsUpTo(upTo)]! - totals[rowsUpTo(after.seq)]! <= Math.max(after.bytes, budget.minBytes) &&
    rowsUpTo(upTo) - rowsUpTo(after.seq) <= checkpointRowBound(after.bytes, budget.maxRows)
  const drop: number[] = []
  let previous: CheckpointOutline = { seq: 0, bytes: 0 }
  for (let i = 0; i < sorted.length - 1; i++) {
    const checkpoint = sorted[i]!
    const next = sorted[i + 1]!
    if (fits(previous, next.seq)) drop.push(checkpoint.seq)
    else previous = checkpoint
  }
  return drop
}
