import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { ProsemirrorNode } from '../../server/documents/content.ts'
import { InvalidProsemirrorJsonError, MAX_NODE_DEPTH, parseProsemirrorDoc, prosemirrorToYXml } from '../../server/documents/prosemirror-yjs.ts'
import { readAsTiptap, TIPTAP_DOCUMENT, writeAsTiptap } from '../helpers/starter-kit.ts'

type Dumped = { name: string; attrs: Record<string, unknown>; children: Dumped[] } | { delta: unknown }

/** Everything a fragment stores: element names, attributes, children, text runs with their attributes. */
function dump(node: Y.XmlFragment | Y.XmlElement | Y.XmlText | Y.XmlHook): Dumped {
  if (node instanceof Y.XmlText) return { delta: node.toDelta() }
  return {
    name: node instanceof Y.XmlElement ? node.nodeName : '#fragment',
    attrs: node instanceof Y.XmlElement ? node.getAttributes() : {},
    children: (node as Y.XmlFragment).toArray().map(dump),
  }
}

function ours(json: ProsemirrorNode): Y.XmlFragment {
  const fragment = new Y.Doc().getXmlFragment('default')
  fragment.insert(0, prosemirrorToYXml(json.content ?? []))
  return fragment
}

function tiptaps(json: ProsemirrorNode): Y.XmlFragment {
  const fragment = new Y.Doc().getXmlFragment('default')
  writeAsTiptap(fragment, json)
  return fragment
}

describe('ProseMirror JSON → Yjs', () => {
  it('stores a StarterKit document exactly as y-prosemirror (Tiptap Collaboration) does', () => {
    expect(dump(ours(TIPTAP_DOCUMENT))).toEqual(dump(tiptaps(TIPTAP_DOCUMENT)))
    expect(readAsTiptap(ours(TIPTAP_DOCUMENT))).toEqual(readAsTiptap(tiptaps(TIPTAP_DOCUMENT)))
  })

  it('accepts node and mark names of any schema (tables, mentions, comments)', () => {
    const json: ProsemirrorNode = {
      type: 'doc',
      content: [
        { type: 'table', content: [{ type: 'tableRow', content: [{ type: 'tableCell', attrs: { colspan: 2, colwidth: null }, content: [{ type: 'paragraph' }] }] }] },
        { type: 'paragraph', content: [{ type: 'mention', attrs: { id: 'u1', label: 'Ann' } }, { type: 'text', text: 'noted', marks: [{ type: 'comment', attrs: { id: 'c1' } }] }] },
      ],
    }
    expect(dump(ours(json))).toEqual({
      name: '#fragment',
      attrs: {},
      children: [
        { name: 'table', attrs: {}, children: [{ name: 'tableRow', attrs: {}, children: [{ name: 'tableCell', attrs: { colspan: 2 }, children: [{ name: 'paragraph', attrs: {}, children: [] }] }] }] },
        { name: 'paragraph', attrs: {}, children: [{ name: 'mention', attrs: { id: 'u1', label: 'Ann' }, children: [] }, { delta: [{ insert: 'noted', attributes: { comment: { id: 'c1' } } }] }] },
      ],
    })
  })

  it('refuses JSON that is not a ProseMirror document, naming where', () => {
    const cases: [unknown, string][] = [
      ['text', ''],
      [{ type: 'paragraph' }, '/type'],
      [{ type: 'doc', content: {} }, '/content'],
      [{ type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: '' }] }] }, '/content/0/content/0/text'],
      [{ type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'a', marks: [{ type: 'bold', extra: 1 }] }] }] }, '/content/0/content/0/marks/0/extra'],
      [{ type: 'doc', content: [{ type: 'p a r a' }] }, '/content/0/type'],
      [{ type: 'doc', content: [{ type: 'paragraph', attrs: [] }] }, '/content/0/attrs'],
      [{ type: 'doc', content: [{ type: 'paragraph', html: '<p>' }] }, '/content/0/html'],
      [{ type: 'doc', content: [{ type: 'paragraph', text: 'x' }] }, '/content/0/text'],
    ]
    for (const [value, path] of cases) {
      expect(() => parseProsemirrorDoc(value), JSON.stringify(value)).toThrow(InvalidProsemirrorJsonError)
      try {
        parseProsemirrorDoc(value)
      } catch (error) {
        expect((error as InvalidProsemirrorJsonError).path).toBe(path)
      }
    }
  })

  it(`refuses nesting deeper than ${MAX_NODE_DEPTH} levels`, () => {
    let node: ProsemirrorNode = { type: 'paragraph' }
    for (let i = 0; i < MAX_NODE_DEPTH; i++) node = { type: 'blockquote', content: [node] }
    expect(() => parseProsemirrorDoc({ type: 'doc', content: [node] })).toThrow('nests deeper')
    expect(parseProsemirrorDoc({ type: 'doc', content: [node.content![0]!] })).toBeTruthy()
  })
})
