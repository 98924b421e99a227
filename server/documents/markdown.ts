import MarkdownIt from 'markdown-it'
import {
  schema as commonmark,
  defaultMarkdownParser,
  defaultMarkdownSerializer,
  MarkdownParser,
  MarkdownSerializer,
} from 'prosemirror-markdown'
import { Mark, type Node as PmNode, type NodeType, Schema } from 'prosemirror-model'
import type * as Y from 'yjs'
import { docToJson, docToText, inferRootKind, type ProsemirrorMark, type ProsemirrorNode } from './content.ts'
import { RootKindError } from './root-kind.ts'

/**
 * Markdown for ProseMirror-shaped content, done by prosemirror-markdown (markdown-it underneath):
 * its CommonMark schema, parser and serializer, plus strikethrough (`~~`, a StarterKit mark).
 * Tiptap's StarterKit names nodes and marks differently (`bulletList`, `bold`, `codeBlock.language`…),
 * so the tables below translate at the boundary and the library does all the markdown work.
 */
const schema = new Schema({
  nodes: commonmark.spec.nodes,
  marks: commonmark.spec.marks.addToEnd('strike', {}),
})

const parser = new MarkdownParser(schema, MarkdownIt('commonmark', { html: false }).enable('strikethrough'), {
  ...defaultMarkdownParser.tokens,
  s: { mark: 'strike' },
})

const serializer = new MarkdownSerializer(defaultMarkdownSerializer.nodes, {
  ...defaultMarkdownSerializer.marks,
  strike: { open: '~~', close: '~~', mixable: true, expelEnclosingWhitespace: true },
})

type Attrs = Record<string, unknown>
interface Rename {
  name: string
  attrs?: (attrs: Attrs) => Attrs
}

/** StarterKit → CommonMark schema. Tiptap's Image extension already uses the CommonMark names. */
const EXPORT_NODES: Record<string, Rename> = {
  paragraph: { name: 'paragraph' },
  heading: { name: 'heading', attrs: (a) => ({ level: integer(a.level, 1, 6, 1) }) },
  blockquote: { name: 'blockquote' },
  // Tiptap shows lists tight: no blank line between items.
  bulletList: { name: 'bullet_list', attrs: () => ({ tight: true }) },
  orderedList: { name: 'ordered_list', attrs: (a) => ({ order: integer(a.start, 0, 999_999_999, 1), tight: true }) },
  listItem: { name: 'list_item' },
  codeBlock: { name: 'code_block', attrs: (a) => ({ params: typeof a.language === 'string' ? a.language : '' }) },
  horizontalRule: { name: 'horizontal_rule' },
  hardBreak: { name: 'hard_break' },
  image: { name: 'image', attrs: (a) => ({ src: stringOr(a.src, ''), alt: stringOr(a.alt, null), title: stringOr(a.title, null) }) },
}

const EXPORT_MARKS: Record<string, Rename> = {
  bold: { name: 'strong' },
  italic: { name: 'em' },
  code: { name: 'code' },
  strike: { name: 'strike' },
  link: { name: 'link', attrs: (a) => ({ href: stringOr(a.href, ''), title: stringOr(a.title, null) }) },
}

/** CommonMark schema → StarterKit; `null` attributes are left out so the editor's defaults apply. */
const IMPORT_NODES: Record<string, Rename> = {
  paragraph: { name: 'paragraph' },
  heading: { name: 'heading', attrs: (a) => ({ level: a.level }) },
  blockquote: { name: 'blockquote' },
  bullet_list: { name: 'bulletList' },
  ordered_list: { name: 'orderedList', attrs: (a) => ({ start: a.order }) },
  list_item: { name: 'listItem' },
  // A fence's info string is "language [more]"; Tiptap keeps the language only.
  code_block: { name: 'codeBlock', attrs: (a) => ({ language: String(a.params).split(/\s/)[0] || null }) },
  horizontal_rule: { name: 'horizontalRule' },
  hard_break: { name: 'hardBreak' },
}

const IMPORT_MARKS: Record<string, Rename> = {
  strong: { name: 'bold' },
  em: { name: 'italic' },
  code: { name: 'code' },
  strike: { name: 'strike' },
  link: { name: 'link', attrs: (a) => ({ href: a.href, title: a.title }) },
}

/** Markdown of a ProseMirror document in Tiptap StarterKit's vocabulary. */
export function prosemirrorToMarkdown(doc: ProsemirrorNode): string {
  const top = schema.topNodeType
  return serializer.serialize(top.create(null, placeChildren(doc.content ?? [], top)), { tightLists: true })
}

/** A ProseMirror document (StarterKit vocabulary) parsed from markdown. */
export function markdownToProsemirror(markdown: string): ProsemirrorNode {
  return { type: 'doc', content: parser.parse(markdown).content.content.flatMap(fromCommonmark) }
}

/**
 * Markdown of one root: an XmlFragment root is rendered from its ProseMirror JSON, a text root is its
 * own text (markdown is text), an absent or empty root is empty.
 */
export function docToMarkdown(doc: Y.Doc, root: string): string {
  const kind = inferRootKind(doc, root)
  if (kind === undefined || kind === 'empty') return ''
  if (kind === 'text') return docToText(doc, root)
  if (kind !== 'xml') throw new RootKindError(root, kind, 'markdown is available for text and XmlFragment roots')
  return prosemirrorToMarkdown(docToJson(doc)[root] as ProsemirrorNode)
}

function toCommonmark(node: ProsemirrorNode): PmNode[] {
  if (node.type === 'text') return node.text ? [schema.text(node.text, exportMarks(node.marks))] : []
  const rule = EXPORT_NODES[node.type]
  // Markdown has no syntax for tables, mentions or custom blocks: their content stays, unwrapped.
  if (!rule) return (node.content ?? []).flatMap(toCommonmark)
  const type = schema.nodes[rule.name]!
  return [type.create(rule.attrs?.(node.attrs ?? {}) ?? null, placeChildren(node.content ?? [], type))]
}

/**
 * Unwrapped content may land where it can't stand: inline runs among blocks get a paragraph, blocks
 * inside a textblock give up their inline content.
 */
function placeChildren(children: readonly ProsemirrorNode[], parent: NodeType): PmNode[] {
  const nodes = children.flatMap(toCommonmark)
  if (parent.inlineContent) return nodes.flatMap((node) => (node.isInline ? [node] : inlineDescendants(node)))
  const placed: PmNode[] = []
  let run: PmNode[] = []
  const flush = () => {
    if (run.length > 0) placed.push(schema.nodes.paragraph!.create(null, run))
    run = []
  }
  for (const node of nodes) {
    if (node.isInline) run.push(node)
    else {
      flush()
      placed.push(node)
    }
  }
  flush()
  return placed
}

function inlineDescendants(node: PmNode): PmNode[] {
  const inline: PmNode[] = []
  node.descendants((child) => {
    if (child.isInline) inline.push(child)
    return !child.isInline
  })
  return inline
}

function exportMarks(marks: readonly ProsemirrorMark[] = []): readonly Mark[] {
  let set: readonly Mark[] = Mark.none
  for (const mark of marks) {
    // Underline, highlight, comments…: markdown has no syntax for them; the text stays.
    const rule = EXPORT_MARKS[mark.type]
    if (rule) set = schema.marks[rule.name]!.create(rule.attrs?.(mark.attrs ?? {}) ?? null).addToSet(set)
  }
  return set
}

function fromCommonmark(node: PmNode): ProsemirrorNode[] {
  if (node.isText) return [withMarks({ type: 'text', text: node.text! }, node.marks)]
  // StarterKit has no image node, and an editor deletes nodes its schema lacks: keep it as a link.
  if (node.type.name === 'image') {
    const link = schema.marks.link!.create({ href: node.attrs.src, title: node.attrs.title })
    return [withMarks({ type: 'text', text: node.attrs.alt || node.attrs.src || 'image' }, link.addToSet(node.marks))]
  }
  const rule = IMPORT_NODES[node.type.name]!
  const result: ProsemirrorNode = { type: rule.name }
  const attrs = withoutNulls(rule.attrs?.(node.attrs) ?? {})
  if (attrs) result.attrs = attrs
  const content = node.content.content.flatMap(fromCommonmark)
  // StarterKit's listItem must start with a paragraph (`paragraph block*`); markdown's may not.
  if (rule.name === 'listItem' && content[0]?.type !== 'paragraph') content.unshift({ type: 'paragraph' })
  if (content.length > 0) result.content = content
  return [result]
}

function withMarks(node: ProsemirrorNode, marks: readonly Mark[]): ProsemirrorNode {
  const converted = marks.flatMap((mark): ProsemirrorMark[] => {
    const rule = IMPORT_MARKS[mark.type.name]
    if (!rule) return []
    const attrs = withoutNulls(rule.attrs?.(mark.attrs) ?? {})
    return [attrs ? { type: rule.name, attrs } : { type: rule.name }]
  })
  if (converted.length > 0) node.marks = converted
  return node
}

function withoutNulls(attrs: Attrs): Attrs | undefined {
  const kept = Object.entries(attrs).filter(([, value]) => value !== null && value !== undefined)
  return kept.length > 0 ? Object.fromEntries(kept) : undefined
}

function integer(value: unknown, min: number, max: number, fallback: number): number {
  const number = typeof value === 'string' ? Number(value) : value
  return typeof number === 'number' && Number.isInteger(number) ? Math.min(max, Math.max(min, number)) : fallback
}

function stringOr<T extends string | null>(value: unknown, fallback: T): string | T {
  return typeof value === 'string' ? value : fallback
}
