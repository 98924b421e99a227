import type { UpdateKind } from '../db/schema.ts'

/** A log row as the history list sees it (no update bytes). */
export interface VersionRow {
  seq: number
  /** ms since the epoch */
  createdAt: number
  authors: readonly string[]
  bytes: number
  label: string | null
  kind: UpdateKind
}

/** Consecutive rows folded into one editing session, the way Google Docs lists versions. */
export interface VersionSession {
  /** Its last row. */
  seq: number
  /** Its first row. */
  fromSeq: number
  /** First row's createdAt (ms). */
  startedAt: number
  /** Last row's createdAt (ms). */
  createdAt: number
  /** Every author, in order of appearance. */
  authors: string[]
  bytes: number
  /** The last row's label: a labelled row ends its session, so no other row of it can carry one. */
  label: string | null
  kind: UpdateKind
}

/**
 * Whether `later` (the row right after `earlier`) continues `earlier`'s session: they are less than
 * `gapMs` apart, `earlier` carries no label (a named version ends its session), and both are plain
 * edits (a restore or an import is a session of its own).
 *
 * The rule only ever looks at two neighbours, so folding any contiguous run of rows that starts and
 * ends on a session boundary gives the same sessions as folding the whole history: pages can fold
 * just their own rows.
 */
export function continuesSession(earlier: VersionRow, later: VersionRow, gapMs: number): boolean {
  return (
    later.createdAt - earlier.createdAt < gapMs &&
    earlier.label === null &&
    earlier.kind === 'update' &&
    later.kind === 'update'
  )
}

/**
 * Folds rows given newest first (consecutive seqs, as the list reads them) into sessions, newest
 * first. The oldest session may be incomplete if older rows were not given.
 */
export function foldSessions(rowsNewestFirst: readonly VersionRow[], gapMs: number): VersionSession[] {
  const groups: VersionRow[][] = []
  let group: VersionRow[] = []
  for (const row of rowsNewestFirst) {
    const newer = group.at(-1)
    if (newer && !continuesSession(row, newer, gapMs)) {
      groups.push(group)
      group = []
    }
    group.push(row)
  }
  if (group.length > 0) groups.push(group)
  return groups.map(toSession)
}

function toSession(rowsNewestFirst: readonly VersionRow[]): VersionSession {
  const last = rowsNewestFirst[0]!
  const first = rowsNewestFirst.at(-1)!
  const authors = new Set<string>()
  let bytes = 0
  for (let i = rowsNewestFirst.length - 1; i >= 0; i--) {
    const row = rowsNewestFirst[i]!
    for (const author of row.authors) authors.add(author)
    bytes += row.bytes
  }
  return {
    seq: last.seq,
    fromSeq: first.seq,
    startedAt: first.createdAt,
    createdAt: last.createdAt,
    authors: [...authors],
    bytes,
    label: last.label,
    kind: last.kind,
  }
}
