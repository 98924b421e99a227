import { describe, expect, it } from 'vitest'
import { diffText, ELISION_CONTEXT, ELLIPSIS, elideUnchanged, MAX_EDIT_LENGTH, type TextChange } from '../../server/versions/diff.ts'

const spell = (changes: TextChange[], skip: TextChange['op']) => changes.filter((c) => c.op !== skip).map((c) => c.text).join('')

describe('version diff', () => {
  it('diffs word by word within changed lines, and keeps paragraph breaks as changes', () => {
    const before = 'Title\nThe quick brown fox.\nUnchanged line.'
    const after = 'Title\nThe quick red fox!\nUnchanged line.\nNew line.'
    const changes = diffText(before, after)
    expect(changes).toEqual([
      { op: 'equal', text: 'Title\nThe quick ' },
      { op: 'delete', text: 'brown' },
      { op: 'insert', text: 'red' },
      { op: 'equal', text: ' fox' },
      { op: 'delete', text: '.' },
      { op: 'insert', text: '!' },
      { op: 'equal', text: '\nUnchanged line.' },
      { op: 'insert', text: '\nNew line.' },
    ])
    expect(spell(changes, 'insert')).toBe(before)
    expect(spell(changes, 'delete')).toBe(after)
  })

  it('handles empty and identical texts', () => {
    expect(diffText('', '')).toEqual([{ op: 'equal', text: '' }])
    expect(diffText('', 'new')).toEqual([{ op: 'insert', text: 'new' }])
    expect(diffText('old', '')).toEqual([{ op: 'delete', text: 'old' }])
    expect(diffText('same', 'same')).toEqual([{ op: 'equal', text: 'same' }])
  })

  it(`reports unrelated texts (more than ${MAX_EDIT_LENGTH} edits) as replaced whole`, () => {
    const before = Array.from({ length: 5_000 }, (_, i) => `a${i}`).join(' ')
    const after = Array.from({ length: 5_000 }, (_, i) => `b${i}`).join(' ')
    expect(diffText(before, after)).toEqual([
      { op: 'delete', text: before },
      { op: 'insert', text: after },
    ])
  })

  it('elides long unchanged parts around the changes, on word boundaries', () => {
    const words = (prefix: string) => Array.from({ length: 100 }, (_, i) => `${prefix}${i}`).join(' ')
    const changes = elideUnchanged([
      { op: 'equal', text: words('a') },
      { op: 'insert', text: 'X' },
      { op: 'equal', text: words('b') },
      { op: 'delete', text: 'Y' },
      { op: 'equal', text: words('c') },
    ])
    const [first, , middle, , last] = changes.map((c) => c.text)
    expect(first!.startsWith(`${ELLIPSIS}a`)).toBe(true)
    expect(first!.endsWith('a99')).toBe(true)
    expect(middle!.startsWith('b0 b1')).toBe(true)
    expect(middle!.endsWith('b99')).toBe(true)
    expect(middle).toContain(ELLIPSIS)
    expect(last!.startsWith('c0 c1')).toBe(true)
    expect(last!.endsWith(ELLIPSIS)).toBe(true)
    for (const text of [first!, middle!, last!]) expect(text.length).toBeLessThanOrEqual(2 * ELISION_CONTEXT + 41)
    // Cuts land on spaces, so no word is split.
    expect(middle!.split(ELLIPSIS).map((side) => side.trim().split(' ').every((word) => /^b\d+$/.test(word)))).toEqual([true, true])
  })

  it('keeps short unchanged parts, the start of an unchanged document, and whole surrogate pairs', () => {
    const short: TextChange[] = [{ op: 'equal', text: 'short' }, { op: 'insert', text: 'x' }]
    expect(elideUnchanged(short)).toEqual(short)
    const [unchanged] = elideUnchanged([{ op: 'equal', text: 'y'.repeat(500) }])
    expect(unchanged!.text).toBe('y'.repeat(ELISION_CONTEXT) + ELLIPSIS)
    const [emoji] = elideUnchanged([{ op: 'equal', text: '😀'.repeat(300) }])
    expect(emoji!.text.isWellFormed()).toBe(true)
  })
})
