import { Buffer } from 'node:buffer'
import * as Y from 'yjs'

/**
 * Converts a Yjs document to the REST API's content formats: JSON (every root), plain text (one root)
 * and the binary Yjs update.
 *
 * A document rebuilt from binary updates on the server has untyped roots: `doc.share` holds plain
 * `Y.AbstractType`s until someone calls `getText`/`getMap`/…, and that call re-types the root in place
 * for good. So the root's type is inferred from its items, and the typed getters are only ever called on
 * a throwaway copy, never on the caller's document.
 */

export type RootKind = 'text' | 'map' | 'array' | 'xml' | 'empty'

export type ProsemirrorMark = { type: string; attrs?: Record<string, unknown> }
export type ProsemirrorNode = {
  type: string
  attrs?: Record<string, unknown>
  content?: ProsemirrorNode[]
  text?: string
  marks?: ProsemirrorMark[]
}

type RootConstructor =
  | typeof Y.Text
  | typeof Y.Map
  | typeof Y.Array
  | typeof Y.XmlFragment
  | typeof Y.XmlElement
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- AbstractType is invariant in its event type, so only any covers every type
type AnyType = Y.AbstractType<any>
type Content = Y.Item['content']

export function docToJson(doc: Y.Doc): Record<string, unknown> {
  return withTypedRoots(doc, (typed) => {
    // Root names and map keys are user data: a `__proto__` key must stay a key, not set a prototype.
    const json: Record<string, unknown> = Object.create(null)
    for (const name of doc.share.keys()) json[name] = rootToJson(typed, name, rootConstructor(doc, name))
    return json
  })
}

export function docToText(doc: Y.Doc, root = 'default'): string {
  if (!doc.share.has(root)) return ''
  const rootType = rootConstructor(doc, root)
  if (rootType === null) return ''
  return withTypedRoots(doc, (typed) => {
    const type = typedRoot(typed, root, rootType)
    if (type instanceof Y.Text) return plainText(type)
    if (type instanceof Y.XmlFragment) return xmlPlainText(type)
    // Structured roots have no natural plain text; their JSON keeps the endpoint from silently
    // answering '' for a document that does have content.
    return JSON.stringify(typeToJson(type))
  })
}

export function docToYjs(doc: Y.Doc): Uint8Array {
  return Y.encodeStateAsUpdate(doc)
}

/** `undefined` when the document has no root of that name. */
export function inferRootKind(doc: Y.Doc, name: string): RootKind | undefined {
  if (!doc.share.has(name)) return undefined
  const rootType = rootConstructor(doc, name)
  if (rootType === null) return 'empty'
  if (rootType === Y.Text) return 'text'
  if (rootType === Y.Map) return 'map'
  if (rootType === Y.Array) return 'array'
  return 'xml'
}

function rootToJson(typed: Y.Doc, name: string, rootType: RootConstructor | null): unknown {
  // A root whose items were all deleted (and garbage-collected) no longer says what it was; text is
  // by far the most common root, and '' is what a deleted text would have shown.
  if (rootType === null) return ''
  const type = typedRoot(typed, name, rootType)
  if (type instanceof Y.XmlFragment) return xmlRootToJson(type)
  return typeToJson(type)
}

function typedRoot(typed: Y.Doc, name: string, rootType: RootConstructor): AnyType {
  const existing = typed.share.get(name)
  // Asking for a typed root with another constructor throws (an XmlText root is not a Text to `get`).
  if (existing !== undefined && !isUntyped(existing)) return existing
  return typed.get(name, rootType)
}

/** Runs `read` on a document whose roots are all typed, copying `doc` only if some root is not. */
function withTypedRoots<T>(doc: Y.Doc, read: (typed: Y.Doc) => T): T {
  if (![...doc.share.values()].some(isUntyped)) return read(doc)
  const copy = new Y.Doc()
  try {
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
    return read(copy)
  } finally {
    copy.destroy()
  }
}

function isUntyped(type: AnyType): boolean {
  return type.constructor === Y.AbstractType
}

/** The constructor the root was created with; `null` when nothing is left to tell. */
function rootConstructor(doc: Y.Doc, name: string): RootConstructor | null {
  const type = doc.share.get(name)
  if (type === undefined) return null
  if (!isUntyped(type)) return typedRootConstructor(type)
  return inferConstructor(type)
}

function typedRootConstructor(type: AnyType): RootConstructor {
  // Subclasses first: XmlText extends Text, XmlElement extends XmlFragment.
  if (type instanceof Y.XmlElement) return Y.XmlElement
  if (type instanceof Y.XmlFragment) return Y.XmlFragment
  if (type instanceof Y.Text) return Y.Text
  if (type instanceof Y.Map) return Y.Map
  return Y.Array
}

/**
 * Deleted items count as evidence too: without garbage collection they keep their content, and only
 * `ContentDeleted` (what collection leaves behind) says nothing about the type.
 */
function inferConstructor(type: AnyType): RootConstructor | null {
  const evidence = new Set<ListEvidence>()
  for (let item = type._start; item !== null; item = item.right) {
    const found = listEvidence(item.content)
    if (found !== null) evidence.add(found)
  }
  // Only Y.Text holds strings and formats, whatever else it embeds.
  if (evidence.has('text')) return Y.Text
  if (evidence.has('array')) return Y.Array
  // An XmlElement root keeps its attributes in `_map`, next to its children.
  if (evidence.has('xml')) return type._map.size > 0 ? Y.XmlElement : Y.XmlFragment
  if (type._map.size > 0) return Y.Map
  return null
}

type ListEvidence = 'text' | 'xml' | 'array'

function listEvidence(content: Content): ListEvidence | null {
  if (content instanceof Y.ContentDeleted) return null
  if (content instanceof Y.ContentString || content instanceof Y.ContentFormat) return 'text'
  if (content instanceof Y.ContentEmbed) return 'text'
  if (content instanceof Y.ContentType && isXmlNode(content.type)) return 'xml'
  // ContentAny, ContentJSON (legacy arrays), ContentBinary, ContentDoc and nested non-XML types.
  return 'array'
}

function isXmlNode(type: AnyType): boolean {
  return type instanceof Y.XmlElement || type instanceof Y.XmlText || type instanceof Y.XmlHook
}

function typeToJson(type: AnyType): unknown {
  if (type instanceof Y.XmlText) return plainText(type)
  if (type instanceof Y.Text) return type.toString()
  if (type instanceof Y.XmlElement) return xmlElementToJson(type)
  if (type instanceof Y.XmlFragment) return xmlRootToJson(type)
  if (type instanceof Y.XmlHook) return xmlHookToJson(type)
  if (type instanceof Y.Map) return mapToJson(type)
  if (type instanceof Y.Array) return type.toArray().map(valueToJson)
  return null
}

function mapToJson(map: Y.Map<unknown>): Record<string, unknown> {
  const json: Record<string, unknown> = Object.create(null)
  for (const [key, value] of map.entries()) json[key] = valueToJson(value)
  return json
}

function valueToJson(value: unknown): unknown {
  if (value instanceof Y.AbstractType) return typeToJson(value)
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  // A subdocument's content lives in a document of its own, not in this one.
  if (value instanceof Y.Doc) return { guid: value.guid }
  // JSON.stringify throws on bigint, and a number could lose precision.
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return value.map(valueToJson)
  if (isPlainObject(value)) return objectToJson(value)
  return value
}

function objectToJson(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, valueToJson(value)]))
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

/**
 * Mirrors y-prosemirror's `yXmlFragmentToProsemirrorJSON` (what Hocuspocus' TiptapTransformer
 * returns), except that top-level text is flattened into the content list like nested text is.
 */
function xmlRootToJson(root: Y.XmlFragment): ProsemirrorNode {
  const node: ProsemirrorNode = { type: 'doc' }
  // Roots carry no node name on the wire, so an XmlElement root is still the doc; keep its attributes.
  if (root instanceof Y.XmlElement) Object.assign(node, attrsField(root.getAttributes()))
  node.content = root.toArray().flatMap(xmlNodeToJson)
  return node
}

function xmlNodeToJson(node: Y.XmlElement | Y.XmlText | Y.XmlHook): ProsemirrorNode[] {
  if (node instanceof Y.XmlText) return xmlTextToJson(node)
  if (node instanceof Y.XmlHook) return [xmlHookToJson(node)]
  return [xmlElementToJson(node)]
}

function xmlElementToJson(element: Y.XmlElement): ProsemirrorNode {
  const node: ProsemirrorNode = { type: element.nodeName, ...attrsField(element.getAttributes()) }
  const content = element.toArray().flatMap(xmlNodeToJson)
  if (content.length > 0) node.content = content
  return node
}

/** y-prosemirror has no mapping for hooks; its name and entries are the closest ProseMirror shape. */
function xmlHookToJson(hook: Y.XmlHook): ProsemirrorNode {
  return { type: hook.hookName, ...attrsField(Object.fromEntries(hook.entries())) }
}

function attrsField(attrs: Record<string, unknown>): { attrs?: Record<string, unknown> } {
  return Object.keys(attrs).length > 0 ? { attrs: objectToJson(attrs) } : {}
}

type DeltaOp = { insert: unknown; attributes?: Record<string, unknown> }

function xmlTextToJson(text: Y.XmlText): ProsemirrorNode[] {
  const nodes: ProsemirrorNode[] = []
  for (const op of text.toDelta() as DeltaOp[]) {
    // ProseMirror text nodes hold strings only, and y-prosemirror never embeds anything in a text.
    if (typeof op.insert !== 'string') continue
    const node: ProsemirrorNode = { type: 'text', text: op.insert }
    if (op.attributes !== undefined) node.marks = Object.entries(op.attributes).map(attributeToMark)
    nodes.push(node)
  }
  return nodes
}

/**
 * y-prosemirror keeps marks as text attributes named after the mark, with the mark's attrs as value.
 * Marks that may overlap themselves (e.g. comments) get a `--` and 8-character hash suffix so that
 * several can coexist on one range; ProseMirror only knows the bare name.
 */
function attributeToMark([key, value]: [string, unknown]): ProsemirrorMark {
  const type = /^(.+)--[a-zA-Z0-9+/=]{8}$/.exec(key)?.[1] ?? key
  return isPlainObject(value) && Object.keys(value).length > 0
    ? { type, attrs: objectToJson(value) }
    : { type }
}

function plainText(text: Y.Text): string {
  // Not toString(): Y.XmlText renders its formatting as XML tags there.
  return (text.toDelta() as DeltaOp[]).map((op) => (typeof op.insert === 'string' ? op.insert : '')).join('')
}

/** Blocks on their own lines; the inline content of a textblock (one holding text) runs together. */
function xmlPlainText(node: Y.XmlFragment | Y.XmlText | Y.XmlHook): string {
  if (node instanceof Y.XmlText) return plainText(node)
  if (node instanceof Y.XmlHook) return ''
  const children = node.toArray()
  const separator = children.some((child) => child instanceof Y.XmlText) ? '' : '\n'
  return children.map(xmlPlainText).join(separator)
}
