import { describe, expect, it } from 'vitest'
import { checkpointRowBound, checkpointsToDrop, planRuns, uniteAuthors } from '../../server/versions/retention-plan.ts'
import { HOUR_MS, type RowOutline } from '../../server/versions/retention.queries.ts'

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % HOUR_MS)

function row(seq: number, minutes: number, extra: Partial<RowOutline> = {}): RowOutline {
  return { seq, createdAt: T0 + minutes * 60_000, kind: 'update', label: null, bytes: 10, authors: ['u'], ...extra }
}

const seqs = (runs: RowOutline[][]) => runs.map((run) => run.map((r) => r.seq))

describe('retention plan', () => {
  it('folds runs of old unlabelled updates per hour, never across a named, restore or import row', () => {
    const log = [
      row(1, 0),
      row(2, 10),
      row(3, 20, { label: 'Named' }),
      row(4, 30),
      row(5, 40),
      row(6, 50, { kind: 'restore', label: 'Restored from version 1' }),
      row(7, 55),
      row(8, 65),
      row(9, 70),
      row(10, 80, { kind: 'import' }),
      row(11, 90),
      row(12, 100),
      row(13, 24 * 60),
    ]
    // Rows from `olderThan` on are too recent: 13 stays whatever its neighbours do.
    expect(seqs(planRuns(log, T0 + 24 * 60 * 60_000, 1_000))).toEqual([[1, 2], [4, 5], [8, 9], [11, 12]])
    // Only what is older than the window: the hour's older part now, the rest on a later pass.
    expect(seqs(planRuns(log, T0 + 95 * 60_000, 1_000))).toEqual([[1, 2], [4, 5], [8, 9]])
  })

  it('cuts an hour into several rows rather than exceed the row size cap', () => {
    const log = [1, 2, 3, 4, 5].map((seq) => row(seq, seq, { bytes: 40 }))
    expect(seqs(planRuns(log, Number.MAX_SAFE_INTEGER, 100))).toEqual([[1, 2], [3, 4]])
  })

  it('unites authors in order of first appearance', () => {
    expect(uniteAuthors([{ authors: ['b', 'a'] }, { authors: ['a', 'c'] }])).toEqual(['b', 'a', 'c'])
  })

  it('drops checkpoints only where the rows from the previous kept one to the next fit its budget', () => {
    const rows = Array.from({ length: 100 }, (_, i) => ({ seq: i + 1, bytes: 100 }))
    const checkpoints = [
      { seq: 10, bytes: 500 },
      { seq: 20, bytes: 500 },
      { seq: 60, bytes: 2_000 },
      { seq: 70, bytes: 2_000 },
      { seq: 100, bytes: 3_000 },
    ]
    // 0→20: 2,000 B > 1,000 (min) keeps 10; 10→60: 5,000 > 1,000 keeps 20; 20→70: 5,000 > 1,000
    // keeps 60; 60→100: 4,000 > 2,000 keeps 70; the newest is always kept.
    expect(checkpointsToDrop(checkpoints, rows, { minBytes: 1_000, maxRows: 1_000 })).toEqual([])
    // With a budget of 5,000 B: 0→20 fits (drop 10), 0→60 doesn't (keep 20), 20→70 fits (drop 60),
    // 20→100 doesn't (keep 70).
    expect(checkpointsToDrop(checkpoints, rows, { minBytes: 5_000, maxRows: 1_000 })).toEqual([10, 60])
    // However light the rows, no more than `maxRows` between kept checkpoints: 0→20 is 20 rows (drop
    // 10), 0→60 is 60 > 40 (keep 20), 20→70 is 50 > 40 (keep 60), 60→100 is 40 (drop 70).
    expect(checkpointsToDrop(checkpoints, rows, { minBytes: 1e9, maxRows: 40 })).toEqual([10, 70])
    expect(checkpointsToDrop([{ seq: 5, bytes: 1 }], rows, { minBytes: 1e9, maxRows: 1 })).toEqual([])
    // Gaps in seqs (rows merged away) count as no rows.
    const gappy = [{ seq: 10, bytes: 100 }, { seq: 50, bytes: 100 }, { seq: 90, bytes: 100 }]
    expect(checkpointsToDrop([{ seq: 10, bytes: 1 }, { seq: 90, bytes: 1 }], gappy, { minBytes: 1e9, maxRows: 3 })).toEqual([10])
    expect(checkpointsToDrop([{ seq: 10, bytes: 1 }, { seq: 90, bytes: 1 }], gappy, { minBytes: 1e9, maxRows: 2 })).toEqual([])
  })

  it('lets one row per 512 bytes of a large checkpoint follow it, however low maxRows is', () => {
    // A 1 MiB document typed into: rows of 50 bytes, 2,048 of them allowed after each checkpoint.
    expect(checkpointRowBound(1024 * 1024, 200)).toBe(2_048)
    expect(checkpointRowBound(10_000, 200)).toBe(200)
    const rows = Array.from({ length: 5_000 }, (_, i) => ({ seq: i + 1, bytes: 50 }))
    const big = 1024 * 1024
    const checkpoints = [1_000, 2_000, 3_000, 4_000, 5_000].map((seq) => ({ seq, bytes: big }))
    // 0→2,000 fits the small budget of an empty start? No: the start has no checkpoint (0 bytes),
    // so 2,000 rows > 200 keep 1,000; 1,000→3,000 is 2,000 ≤ 2,048 (drop 2,000); 1,000→4,000 is
    // 3,000 (keep 3,000); 3,000→5,000 is 2,000 (drop 4,000).
    expect(checkpointsToDrop(checkpoints, rows, { minBytes: 64 * 1024, maxRows: 200 })).toEqual([2_000, 4_000])
  })
})
