import * as Y from 'yjs'
import type { ProsemirrorMark, ProsemirrorNode } from './content.ts'

/**
 * ProseMirror JSON → Y.XmlFragment content, stored exactly as y-prosemirror (Tiptap's Collaboration
 * extension) stores a document: an element per node with its non-null attributes, one Y.XmlText per run
 * of text nodes, marks as text attributes named after the mark and holding its attrs.
 *
 * Hand-written rather than y-prosemirror's `prosemirrorJSONToYXmlFragment` on purpose: that needs the
 * editor's exact ProseMirror schema, and the server has none (apps add tables, mentions, images…), so
 * it accepts any node names, as `content.ts` reads any. The unit tests compare both on StarterKit content.
 */

/** JSON that is not a ProseMirror document; `path` is a JSON pointer to the offending part. */
export class InvalidProsemirrorJsonError extends Error {
  readonly path: string
  constructor(path: string, message: string) {
    super(message)
    this.name = 'InvalidProsemirrorJsonError'
    this.path = path
  }
}

/** Deeper than any real document; it keeps the recursive conversion far from the stack limit. */
export const MAX_NODE_DEPTH = 100

// ProseMirror names nodes and marks like identifiers; XML element names must be names too.
const NAME = /^[A-Za-z_][\w.:-]{0,127}$/
const NODE_KEYS = new Set(['type', 'attrs', 'content', 'text', 'marks'])
const MARK_KEYS = new Set(['type', 'attrs'])

/** Checks that `value` is a ProseMirror document (`{type: "doc", content}`) and returns it typed. */
export function parseProsemirrorDoc(value: unknown): ProsemirrorNode {
  const doc = parseNode(value, '', 0)
  if (doc.type !== 'doc') throw new InvalidProsemirrorJsonError('/type', 'must be "doc"')
  return doc
}

/** The Yjs types for a node list (a document's `content`), not yet part of any document. */
export function prosemirrorToYXml(nodes: readonly ProsemirrorNode[]): (Y.XmlElement | Y.XmlText)[] {
  const types: (Y.XmlElement | Y.XmlText)[] = []
  let run: ProsemirrorNode[] = []
  const flush = () => {
    if (run.length > 0) types.push(textRun(run))
    run = []
  }
  for (const node of nodes) {
    if (node.type === 'text') run.push(node)
    else {
      flush()
      types.push(element(node))
    }
  }
  flush()
  return types
}

function element(node: ProsemirrorNode): Y.XmlElement {
  const xml = new Y.XmlElement(node.type)
  for (const [key, value] of Object.entries(node.attrs ?? {})) {
    if (value !== null && value !== undefined) xml.setAttribute(key, value as string)
  }
  // y-prosemirror keeps no marks on non-text nodes either.
  xml.insert(0, prosemirrorToYXml(node.content ?? []))
  return xml
}

function textRun(nodes: readonly ProsemirrorNode[]): Y.XmlText {
  const text = new Y.XmlText()
  text.applyDelta(nodes.map((node) => ({ insert: node.text!, attributes: markAttributes(node.marks ?? []) })))
  return text
}

/**
 * y-prosemirror suffixes marks that may overlap themselves (comments) with a hash so several can
 * coexist; telling which marks those are needs the schema, so here one mark per name, the last wins.
 */
function markAttributes(marks: readonly ProsemirrorMark[]): Record<string, unknown> {
  return Object.fromEntries(marks.map((mark) => [mark.type, mark.attrs ?? {}]))
}

function parseNode(value: unknown, path: string, depth: number): ProsemirrorNode {
  if (depth > MAX_NODE_DEPTH) fail(path, `nests deeper than ${MAX_NODE_DEPTH} levels`)
  const object = plainObject(value, path)
  for (const key of Object.keys(object)) if (!NODE_KEYS.has(key)) fail(`${path}/${key}`, 'is not a ProseMirror node field')
  const node: ProsemirrorNode = { type: name(object.type, `${path}/type`, 'a node') }
  if (object.attrs !== undefined) node.attrs = plainObject(object.attrs, `${path}/attrs`)
  if (object.marks !== undefined) node.marks = parseMarks(object.marks, `${path}/marks`)
  if (node.type === 'text') {
    if (typeof object.text !== 'string' || object.text === '') fail(`${path}/text`, 'must be a non-empty string')
    if (object.content !== undefined) fail(`${path}/content`, 'text nodes have no content')
    node.text = object.text
    return node
  }
  if (object.text !== undefined) fail(`${path}/text`, 'only text nodes have text')
  if (object.content !== undefined) {
    if (!Array.isArray(object.content)) fail(`${path}/content`, 'must be an array of nodes')
    node.content = object.content.map((child, i) => parseNode(child, `${path}/content/${i}`, depth + 1))
  }
  return node
}

function parseMarks(value: unknown, path: string): ProsemirrorMark[] {
  if (!Array.isArray(value)) fail(path, 'must be an array of marks')
  return value.map((item, i) => {
    const object = plainObject(item, `${path}/${i}`)
    for (const key of Object.keys(object)) if (!MARK_KEYS.has(key)) fail(`${path}/${i}/${key}`, 'is not a ProseMirror mark field')
    const mark: ProsemirrorMark = { type: name(object.type, `${path}/${i}/type`, 'a mark') }
    if (object.attrs !== undefined) mark.attrs = plainObject(object.attrs, `${path}/${i}/attrs`)
    return mark
  })
}

function name(value: unknown, path: string, what: string): string {
  if (typeof value !== 'string' || !NAME.test(value)) fail(path, `must be ${what} name (letters, digits, _ . : -)`)
  return value
}

function plainObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object')
  return value as Record<string, unknown>
}

function fail(path: string, message: string): never {
  throw new InvalidProsemirrorJsonError(path, message)
}
