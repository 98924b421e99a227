import type { UpdateKind } from '../db/schema.ts'
import { mergeUpdatesBounded } from './merge-updates.ts'
import type { NewLogEntry } from './update-log.queries.ts'

/** An update received and not yet in the log. */
export interface PendingEntry {
  update: Uint8Array
  author: string
  kind: UpdateKind
  /** A server-side edit (restore, import, REST update): stored as a row of its own, named if labelled. */
  own?: { label: string | null; stored: (seq: number) => void; failed: (error: unknown) => void }
}

/** Groups consecutive updates of one kind into rows of at most `maxRowBytes` raw bytes, each merged. */
export function toLogEntries(pending: readonly PendingEntry[], maxRowBytes: number): NewLogEntry[] {
  return toLogRows(pending, maxRowBytes).entries
}

/**
 * `toLogEntries`, also saying which row each server-side edit became: such an edit is a row of its
 * own (never merged with its neighbours), so its seq names exactly it.
 */
export function toLogRows(
  pending: readonly PendingEntry[],
  maxRowBytes: number,
): { entries: NewLogEntry[]; owners: [number, PendingEntry][] } {
  const rows: NewLogEntry[] = []
  const owners: [number, PendingEntry][] = []
  let group: PendingEntry[] = []
  let groupBytes = 0
  const close = () => {
    if (group.length === 0) return
    const first = group[0]!
    if (first.own) owners.push([rows.length, first])
    rows.push({
      data: group.length === 1 ? first.update : mergeUpdatesBounded(group.map((e) => e.update)),
      kind: first.kind,
      authors: [...new Set(group.map((e) => e.author))],
      label: first.own?.label ?? null,
    })
    group = []
    groupBytes = 0
  }
  for (const entry of pending) {
    const separate = entry.own !== undefined || group[0]?.own !== undefined
    const kindChanges = group.length > 0 && group[0]!.kind !== entry.kind
    if (separate || kindChanges || (group.length > 0 && groupBytes + entry.update.byteLength > maxRowBytes)) close()
    group.push(entry)
    groupBytes += entry.update.byteLength
  }
  close()
  return { entries: rows, owners }
}
