import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { docToMarkdown, markdownToProsemirror, prosemirrorToMarkdown } from '../../server/documents/markdown.ts'
import { RootKindError } from '../../server/documents/root-kind.ts'
import { TIPTAP_DOCUMENT, TIPTAP_MARKDOWN, writeAsTiptap } from '../helpers/starter-kit.ts'

/** What the server holds: a document rebuilt from the binary state, every root still untyped. */
function serverCopy(source: Y.Doc): Y.Doc {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(source))
  return doc
}

function tiptapDoc(json = TIPTAP_DOCUMENT): Y.Doc {
  const source = new Y.Doc()
  writeAsTiptap(source.getXmlFragment('default'), json)
  return serverCopy(source)
}

describe('markdown export', () => {
  it('renders a Tiptap document (headings, lists, marks, quote, code block, rule, hard break) as markdown', () => {
    expect(docToMarkdown(tiptapDoc(), 'default')).toBe(TIPTAP_MARKDOWN)
  })

  it('keeps the text of marks and nodes markdown has no syntax for', () => {
    const doc = tiptapDoc({
      type: 'doc',
      content: [
        { type: 'paragraph', content: [{ type: 'text', text: 'under', marks: [{ type: 'underline' }, { type: 'bold' }] }] },
      ],
    })
    expect(docToMarkdown(doc, 'default')).toBe('**under**')
    const table = {
      type: 'doc',
      content: [
        { type: 'table', content: [{ type: 'tableRow', content: [{ type: 'tableCell', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'cell' }] }] }] }] },
        { type: 'mention', attrs: { id: 'u1' } },
        { type: 'callout', content: [{ type: 'text', text: 'loose text' }] },
      ],
    }
    expect(prosemirrorToMarkdown(table)).toBe('cell\n\nloose text')
  })

  it('is the text itself for a text root, empty for an absent root, and refused for a map', () => {
    const source = new Y.Doc()
    source.getText('notes').insert(0, '# Already *markdown*')
    source.getMap('settings').set('a', 1)
    const doc = serverCopy(source)
    expect(docToMarkdown(doc, 'notes')).toBe('# Already *markdown*')
    expect(docToMarkdown(doc, 'missing')).toBe('')
    expect(() => docToMarkdown(doc, 'settings')).toThrow(RootKindError)
    expect(() => docToMarkdown(doc, 'settings')).toThrow('Root "settings" holds a Y.Map')
  })
})

describe('markdown import', () => {
  it("parses markdown into StarterKit's nodes and marks", () => {
    const json = markdownToProsemirror(TIPTAP_MARKDOWN)
    // Attributes the markdown doesn't set are left to the editor's defaults.
    const withoutDefaults = structuredClone(TIPTAP_DOCUMENT)
    const link = withoutDefaults.content![1]!.content![7]!.marks![0]!
    link.attrs = { href: 'https://example.com/a' }
    withoutDefaults.content![4]!.attrs = { start: 3 }
    expect(json).toEqual(withoutDefaults)
  })

  it('round trips: markdown → document → markdown', () => {
    expect(prosemirrorToMarkdown(markdownToProsemirror(TIPTAP_MARKDOWN))).toBe(TIPTAP_MARKDOWN)
  })

  it('keeps images (no StarterKit node) as links, starts list items with a paragraph, and fills an empty document', () => {
    expect(markdownToProsemirror('![a cat](https://img.test/cat.png)')).toEqual({
      type: 'doc',
      content: [{ type: 'paragraph', content: [{ type: 'text', text: 'a cat', marks: [{ type: 'link', attrs: { href: 'https://img.test/cat.png' } }] }] }],
    })
    expect(markdownToProsemirror('- ```\n  code\n  ```')).toEqual({
      type: 'doc',
      content: [{ type: 'bulletList', content: [{ type: 'listItem', content: [{ type: 'paragraph' }, { type: 'codeBlock', content: [{ type: 'text', text: 'code' }] }] }] }],
    })
    expect(markdownToProsemirror('')).toEqual({ type: 'doc', content: [{ type: 'paragraph' }] })
  })

  it('treats HTML as text', () => {
    expect(markdownToProsemirror('<b>hi</b>')).toEqual({ type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: '<b>hi</b>' }] }] })
  })
})
