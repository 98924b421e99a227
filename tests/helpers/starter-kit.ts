import { Schema } from 'prosemirror-model'
import { prosemirrorJSONToYXmlFragment, yXmlFragmentToProsemirrorJSON } from 'y-prosemirror'
import * as Y from 'yjs'
import type { ProsemirrorNode } from '../../server/documents/content.ts'

/**
 * The node and mark names and attributes of Tiptap's StarterKit (plus Underline), enough for
 * y-prosemirror to store and read documents the way a Tiptap editor with Collaboration does.
 */
export const starterKitSchema = new Schema({
  nodes: {
    doc: { content: 'block+' },
    paragraph: { group: 'block', content: 'inline*' },
    heading: { group: 'block', content: 'inline*', attrs: { level: { default: 1 } }, defining: true },
    blockquote: { group: 'block', content: 'block+' },
    bulletList: { group: 'block list', content: 'listItem+' },
    orderedList: { group: 'block list', content: 'listItem+', attrs: { start: { default: 1 }, type: { default: null } } },
    listItem: { content: 'paragraph block*', defining: true },
    codeBlock: { group: 'block', content: 'text*', marks: '', code: true, attrs: { language: { default: null } } },
    horizontalRule: { group: 'block' },
    hardBreak: { group: 'inline', inline: true, selectable: false },
    text: { group: 'inline' },
  },
  marks: {
    link: {
      attrs: { href: { default: null }, target: { default: '_blank' }, rel: { default: 'noopener noreferrer nofollow' }, class: { default: null } },
      inclusive: false,
    },
    bold: {},
    italic: {},
    strike: {},
    underline: {},
    code: { excludes: '_' },
  },
})

/** Writes `json` into `fragment` exactly as a Tiptap editor (y-prosemirror) would. */
export function writeAsTiptap(fragment: Y.XmlFragment, json: ProsemirrorNode): void {
  prosemirrorJSONToYXmlFragment(starterKitSchema, json, fragment)
}

/** What a Tiptap editor (y-prosemirror) reads from `fragment`. */
export function readAsTiptap(fragment: Y.XmlFragment): ProsemirrorNode {
  return yXmlFragmentToProsemirrorJSON(fragment) as ProsemirrorNode
}

/** What a Tiptap editor reads back after writing `json`: the shape to expect from a fragment holding it. */
export function tiptapReading(json: ProsemirrorNode): ProsemirrorNode {
  const doc = new Y.Doc()
  try {
    writeAsTiptap(doc.getXmlFragment('default'), json)
    return readAsTiptap(doc.getXmlFragment('default'))
  } finally {
    doc.destroy()
  }
}

const text = (value: string, ...marks: ProsemirrorNode['marks'] & object): ProsemirrorNode =>
  marks.length > 0 ? { type: 'text', text: value, marks } : { type: 'text', text: value }
const paragraph = (...content: ProsemirrorNode[]): ProsemirrorNode => ({ type: 'paragraph', content })
const item = (...content: ProsemirrorNode[]): ProsemirrorNode => ({ type: 'listItem', content })

/** A Tiptap document with headings, lists, marks, a quote, a code block, a rule and a hard break. */
export const TIPTAP_DOCUMENT: ProsemirrorNode = {
  type: 'doc',
  content: [
    { type: 'heading', attrs: { level: 1 }, content: [text('Release notes')] },
    paragraph(
      text('Some '),
      text('bold', { type: 'bold' }),
      text(', '),
      text('italic', { type: 'italic' }),
      text(', '),
      text('code', { type: 'code' }),
      text(' and a '),
      text('link', { type: 'link', attrs: { href: 'https://example.com/a', target: '_blank', rel: 'noopener noreferrer nofollow', class: null } }),
      text('.'),
    ),
    { type: 'heading', attrs: { level: 2 }, content: [text('Lists')] },
    {
      type: 'bulletList',
      content: [
        item(paragraph(text('first'))),
        item(paragraph(text('second')), { type: 'bulletList', content: [item(paragraph(text('nested', { type: 'bold' })))] }),
      ],
    },
    { type: 'orderedList', attrs: { start: 3, type: null }, content: [item(paragraph(text('three'))), item(paragraph(text('four')))] },
    { type: 'blockquote', content: [paragraph(text('Quoted '), text('words', { type: 'italic' }), text('.'))] },
    { type: 'codeBlock', attrs: { language: 'ts' }, content: [text('const answer = 42\nconsole.log(answer)')] },
    { type: 'horizontalRule' },
    paragraph(text('line one'), { type: 'hardBreak' }, text('line two, '), text('struck', { type: 'strike' })),
  ],
}

/** `TIPTAP_DOCUMENT` as markdown. */
export const TIPTAP_MARKDOWN = [
  '# Release notes',
  '',
  'Some **bold**, *italic*, `code` and a [link](https://example.com/a).',
  '',
  '## Lists',
  '',
  '* first',
  '* second',
  '  * **nested**',
  '',
  '3. three',
  '4. four',
  '',
  '> Quoted *words*.',
  '',
  '```ts',
  'const answer = 42',
  'console.log(answer)',
  '```',
  '',
  '---',
  '',
  'line one\\',
  'line two, ~~struck~~',
].join('\n')
