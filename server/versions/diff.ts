import { type ChangeObject, diffLines, diffWordsWithSpace } from 'diff'
import type { DiffOp } from '../../shared/api/versions.ts'

/** One part of a diff: text only the new version has, only the old one has, or both. */
export interface TextChange {
  op: DiffOp
  text: string
}

/**
 * jsdiff's Myers diff costs about (old + new tokens) × edits. Beyond this many edits (changed lines,
 * or words within a changed stretch) a stretch is reported as deleted and inserted whole, so one
 * request on two unrelated megabyte texts stays a fraction of a second instead of many seconds.
 */
export const MAX_EDIT_LENGTH = 2_000

/** Characters of unchanged text kept on each side of a change when an `equal` part is elided. */
export const ELISION_CONTEXT = 80
export const ELLIPSIS = '…'

// Eliding fewer characters than this saves nothing worth the ellipsis.
const MIN_ELIDED = 20
// How far a cut may move to land on whitespace rather than inside a word.
const WORD_SLACK = 20

/**
 * A word-level diff (words, punctuation, runs of spaces and newlines are the tokens, so paragraph
 * breaks count). Lines are compared first and only changed stretches word by word: documents are
 * mostly unchanged lines, and this keeps the word diff small.
 */
export function diffText(before: string, after: string): TextChange[] {
  const lines = diffLines(before, after, { maxEditLength: MAX_EDIT_LENGTH })
  if (!lines) return replaced(before, after)
  const changes: TextChange[] = []
  for (let i = 0; i < lines.length; i++) {
    const part = lines[i]!
    const next = lines[i + 1]
    if (next && ((part.removed && next.added) || (part.added && next.removed))) {
      const [removed, added] = part.removed ? [part.value, next.value] : [next.value, part.value]
      const words = diffWordsWithSpace(removed, added, { maxEditLength: MAX_EDIT_LENGTH })
      changes.push(...(words ? words.map(toChange) : replaced(removed, added)))
      i++
    } else changes.push(toChange(part))
  }
  return merged(changes)
}

/**
 * Shortens long unchanged parts to the context a reader needs: the end of the part before a change,
 * the start of the part after one, both around a `…` in between (an unchanged document keeps its start).
 */
export function elideUnchanged(changes: readonly TextChange[], context = ELISION_CONTEXT): TextChange[] {
  return changes.map((change, i) => {
    if (change.op !== 'equal') return change
    const isFirst = i === 0
    const isLast = i === changes.length - 1
    const head = !isFirst || isLast ? context : 0
    const tail = isLast ? 0 : context
    const { text } = change
    if (text.length - head - tail < MIN_ELIDED) return change
    const end = headEnd(text, head)
    const start = tailStart(text, text.length - tail)
    if (start - end < MIN_ELIDED) return change
    return { op: 'equal', text: text.slice(0, end) + ELLIPSIS + text.slice(start) }
  })
}

function toChange(part: ChangeObject<string>): TextChange {
  return { op: part.added ? 'insert' : part.removed ? 'delete' : 'equal', text: part.value }
}

function replaced(before: string, after: string): TextChange[] {
  const changes: TextChange[] = []
  if (before) changes.push({ op: 'delete', text: before })
  if (after) changes.push({ op: 'insert', text: after })
  if (changes.length === 0) changes.push({ op: 'equal', text: '' })
  return changes
}

/** Adjacent parts of one kind joined (a line diff and the word diffs inside it meet at line ends). */
function merged(changes: readonly TextChange[]): TextChange[] {
  const out: TextChange[] = []
  for (const change of changes) {
    if (change.text === '' && changes.length > 1) continue
    const last = out.at(-1)
    if (last?.op === change.op) last.text += change.text
    else out.push({ ...change })
  }
  return out.length > 0 ? out : [{ op: 'equal', text: '' }]
}

/** End of a kept head: at `at`, or moved forward onto whitespace nearby; never inside a surrogate pair. */
function headEnd(text: string, at: number): number {
  if (at === 0) return 0
  const space = text.slice(at, at + WORD_SLACK).search(/\s/)
  return space >= 0 ? at + space : codePointBoundary(text, at)
}

/** Start of a kept tail: at `at`, or moved back to just after whitespace nearby. */
function tailStart(text: string, at: number): number {
  if (at === text.length) return at
  const window = text.slice(Math.max(0, at - WORD_SLACK), at)
  const space = Math.max(window.lastIndexOf(' '), window.lastIndexOf('\n'))
  return space >= 0 ? at - window.length + space + 1 : codePointBoundary(text, at)
}

function codePointBoundary(text: string, at: number): number {
  const code = text.charCodeAt(at)
  return code >= 0xdc00 && code <= 0xdfff ? at + 1 : at
}
