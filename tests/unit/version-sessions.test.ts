import { describe, expect, it } from 'vitest'
import { continuesSession, foldSessions, type VersionRow } from '../../server/versions/sessions.ts'

const GAP = 300_000

/** Rows oldest first from compact specs; `at` in seconds. */
function rows(...specs: (Partial<VersionRow> & { at: number })[]): VersionRow[] {
  return specs.map(({ at, ...rest }, i) => ({
    seq: i + 1,
    createdAt: at * 1000,
    authors: ['alice'],
    bytes: 10,
    label: null,
    kind: 'update',
    ...rest,
  }))
}

const newestFirst = (list: VersionRow[]) => [...list].reverse()

describe('editing sessions', () => {
  it('folds rows less than the gap apart into one session with every author, in order of appearance', () => {
    const history = rows({ at: 0, authors: ['bob'] }, { at: 100, authors: ['alice', 'bob'] }, { at: 299, authors: ['carol'] })
    expect(foldSessions(newestFirst(history), GAP)).toEqual([
      { seq: 3, fromSeq: 1, startedAt: 0, createdAt: 299_000, authors: ['bob', 'alice', 'carol'], bytes: 30, label: null, kind: 'update' },
    ])
  })

  it('splits where two consecutive rows are the gap or more apart, even if the session is long', () => {
    const history = rows({ at: 0 }, { at: 200 }, { at: 400 }, { at: 700 }, { at: 999 })
    expect(foldSessions(newestFirst(history), GAP).map((s) => [s.fromSeq, s.seq])).toEqual([
      [4, 5],
      [1, 3],
    ])
  })

  it('ends a session on a labelled row, and names the session after it', () => {
    const history = rows({ at: 0 }, { at: 1, label: 'Draft' }, { at: 2 }, { at: 3 })
    expect(foldSessions(newestFirst(history), GAP)).toMatchObject([
      { fromSeq: 3, seq: 4, label: null },
      { fromSeq: 1, seq: 2, label: 'Draft' },
    ])
  })

  it('keeps restore and import rows as sessions of their own', () => {
    const history = rows(
      { at: 0 },
      { at: 1, kind: 'restore', label: 'Restored from version 1' },
      { at: 2 },
      { at: 3, kind: 'import' },
      { at: 4, kind: 'import' },
      { at: 5 },
    )
    expect(foldSessions(newestFirst(history), GAP).map((s) => [s.fromSeq, s.seq, s.kind])).toEqual([
      [6, 6, 'update'],
      [5, 5, 'import'],
      [4, 4, 'import'],
      [3, 3, 'update'],
      [2, 2, 'restore'],
      [1, 1, 'update'],
    ])
  })

  it('gives the same sessions whichever session boundary a page starts below', () => {
    const times = [0, 10, 20, 400, 410, 900, 905, 910, 2000, 2001]
    const history = rows(...times.map((at, i) => ({ at, label: i === 6 ? 'Named' : null })))
    const whole = foldSessions(newestFirst(history), GAP)
    for (const [i, session] of whole.entries()) {
      const below = newestFirst(history).filter((r) => r.seq <= session.seq)
      expect(foldSessions(below, GAP)).toEqual(whole.slice(i))
    }
  })

  it('decides from two neighbours only', () => {
    const [a, b] = rows({ at: 0 }, { at: 299.999 })
    expect(continuesSession(a!, b!, GAP)).toBe(true)
    expect(continuesSession(a!, { ...b!, createdAt: GAP }, GAP)).toBe(false)
    expect(foldSessions([], GAP)).toEqual([])
  })
})
