import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { toLogEntries } from '../../server/versions/log-rows.ts'
import { mergeUpdatesBounded } from '../../server/versions/merge-updates.ts'

function typingUpdates(count: number): Uint8Array[] {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  const text = doc.getText('default')
  for (let i = 0; i < count; i++) {
    if (i % 5 === 4) text.delete(Math.floor(text.length / 2), 1)
    else text.insert(i % 3 === 0 ? 0 : text.length, String.fromCharCode(97 + (i % 26)))
  }
  return updates
}

function textOf(updates: Uint8Array[]): string {
  const doc = new Y.Doc()
  for (const u of updates) Y.applyUpdate(doc, u)
  return doc.getText('default').toString()
}

describe('bounded merge', () => {
  it('gives the same document as applying every update, for any fan-in', () => {
    const updates = typingUpdates(3_000)
    const expected = textOf(updates)
    for (const fanIn of [2, 16, 64, 5_000]) expect(textOf([mergeUpdatesBounded(updates, fanIn)])).toBe(expected)
    expect(textOf([mergeUpdatesBounded([])])).toBe('')
  })
})

describe('log entries', () => {
  const entry = (update: Uint8Array, author = 'a', kind: 'update' | 'restore' = 'update') => ({ update, author, kind })

  it('merges a batch into one row with its distinct authors', () => {
    const updates = typingUpdates(100)
    const rows = toLogEntries(
      updates.map((u, i) => entry(u, i % 2 ? 'alice' : 'bob')),
      1 << 20,
    )
    expect(rows).toHaveLength(1)
    expect([...rows[0]!.authors].sort()).toEqual(['alice', 'bob'])
    expect(textOf([rows[0]!.data])).toBe(textOf(updates))
  })

  it('splits rows by kind and by size, keeping order', () => {
    const updates = typingUpdates(200)
    const pending = updates.map((u, i) => entry(u, 'a', i >= 150 ? 'restore' : 'update'))
    const rows = toLogEntries(pending, 200)
    expect(rows.length).toBeGreaterThan(2)
    expect(rows.map((r) => r.kind)).toEqual([...rows.map((r) => r.kind)].sort((x, y) => (x === 'update' ? -1 : y === 'update' ? 1 : 0)))
    expect(rows.at(-1)!.kind).toBe('restore')
    expect(textOf(rows.map((r) => r.data))).toBe(textOf(updates))
  })
})
