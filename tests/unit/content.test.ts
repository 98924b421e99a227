import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { docToJson, docToText, docToYjs, inferRootKind } from '../../server/documents/content.ts'
import { element, text } from '../helpers/yxml.ts'

/** What the server holds: a document rebuilt from the binary state, every root still untyped. */
function serverCopy(source: Y.Doc, options?: { gc?: boolean }): Y.Doc {
  const doc = new Y.Doc(options)
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(source))
  return doc
}

/** A ProseMirror document the way y-prosemirror stores it: marks are attributes holding the mark's attrs. */
function prosemirrorSource(): Y.Doc {
  const doc = new Y.Doc()
  doc
    .getXmlFragment('default')
    .insert(0, [
      element('heading', { level: 2 }, [text(['Title'])]),
      element('paragraph', {}, [
        text(
          ['Hello '],
          ['bold', { bold: {} }],
          [' and '],
          ['link', { link: { href: 'https://example.com', target: null } }],
          ['!', { italic: true, bold: {} }],
        ),
      ]),
      element('bulletList', {}, [
        element('listItem', {}, [element('paragraph', {}, [text(['one'])])]),
        element('listItem', {}, [element('paragraph', {}, [text(['two'])])]),
      ]),
      element('paragraph', {}, []),
    ])
  return doc
}

const prosemirrorJson = {
  type: 'doc',
  content: [
    { type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'Title' }] },
    {
      type: 'paragraph',
      content: [
        { type: 'text', text: 'Hello ' },
        { type: 'text', text: 'bold', marks: [{ type: 'bold' }] },
        { type: 'text', text: ' and ' },
        {
          type: 'text',
          text: 'link',
          marks: [{ type: 'link', attrs: { href: 'https://example.com', target: null } }],
        },
        { type: 'text', text: '!', marks: [{ type: 'italic' }, { type: 'bold' }] },
      ],
    },
    {
      type: 'bulletList',
      content: [
        { type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'one' }] }] },
        { type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'two' }] }] },
      ],
    },
    { type: 'paragraph' },
  ],
}

function structuredSource(): Y.Doc {
  const doc = new Y.Doc()
  const settings = doc.getMap('settings')
  settings.set('title', 'Notes')
  settings.set('count', 3)
  settings.set('flags', [true, null, { deep: 'yes' }])
  settings.set('bytes', new Uint8Array([1, 2, 3, 255]))
  const nested = new Y.Map<unknown>()
  nested.set('tags', Y.Array.from(['a', 'b']))
  nested.set('caption', new Y.Text('hi'))
  settings.set('nested', nested)
  const items = doc.getArray('items')
  items.push([1, 'two', { three: 3 }])
  items.push([Y.Array.from([4, 5]), new Y.Map([['six', 6]])])
  return doc
}

const structuredJson = {
  settings: {
    title: 'Notes',
    count: 3,
    flags: [true, null, { deep: 'yes' }],
    bytes: 'AQID/w==',
    nested: { tags: ['a', 'b'], caption: 'hi' },
  },
  items: [1, 'two', { three: 3 }, [4, 5], { six: 6 }],
}

function formattedTextSource(): Y.Doc {
  const doc = new Y.Doc()
  const body = doc.getText('default')
  body.insert(0, 'Hello world\nsecond line')
  body.format(0, 5, { bold: true })
  body.insertEmbed(11, { image: 'cat.png' })
  return doc
}

describe('docToJson', () => {
  it('converts an untyped ProseMirror fragment to ProseMirror JSON', () => {
    const server = serverCopy(prosemirrorSource())
    expect(server.share.get('default')?.constructor).toBe(Y.AbstractType)

    expect(docToJson(server)).toEqual({ default: prosemirrorJson })
  })

  it('converts untyped nested maps and arrays, bytes as base64', () => {
    expect(docToJson(serverCopy(structuredSource()))).toEqual(structuredJson)
  })

  it('converts an untyped formatted text to its plain string, dropping formatting and embeds', () => {
    expect(docToJson(serverCopy(formattedTextSource()))).toEqual({ default: 'Hello world\nsecond line' })
  })

  it('gives the same JSON for the typed source document as for its untyped copy', () => {
    expect(docToJson(prosemirrorSource())).toEqual({ default: prosemirrorJson })
    expect(docToJson(structuredSource())).toEqual(structuredJson)
  })

  it('converts every root of a document holding several kinds at once', () => {
    const source = structuredSource()
    source.getText('notes').insert(0, 'remember')
    Y.applyUpdate(source, Y.encodeStateAsUpdate(prosemirrorSource()))

    expect(docToJson(serverCopy(source))).toEqual({
      ...structuredJson,
      notes: 'remember',
      default: prosemirrorJson,
    })
  })

  it('handles a mix of typed and untyped roots in one document', () => {
    const server = serverCopy(structuredSource())
    server.getMap('settings')

    expect(docToJson(server)).toEqual(structuredJson)
    expect(server.share.get('items')?.constructor).toBe(Y.AbstractType)
  })

  it('reads a root typed as a subclass (XmlText) as it is, without its formatting tags', () => {
    const doc = new Y.Doc()
    doc.get('rich', Y.XmlText).insert(0, 'plain', { bold: {} })
    doc.getText('notes').insert(0, 'n')
    const server = serverCopy(doc)
    server.get('rich', Y.XmlText)

    expect(docToJson(doc)).toEqual({ rich: 'plain', notes: 'n' })
    expect(docToJson(server)).toEqual({ rich: 'plain', notes: 'n' })
    expect(server.share.get('notes')?.constructor).toBe(Y.AbstractType)
    expect(docToText(server, 'rich')).toBe('plain')
  })

  it('names overlapping marks without the hash suffix y-prosemirror adds', () => {
    const source = new Y.Doc()
    source
      .getXmlFragment('default')
      .insert(0, [element('paragraph', {}, [text(['noted', { 'comment--AbC1+/=9': { id: 'c1' } }])])])

    expect(docToJson(serverCopy(source))).toEqual({
      default: {
        type: 'doc',
        content: [
          {
            type: 'paragraph',
            content: [{ type: 'text', text: 'noted', marks: [{ type: 'comment', attrs: { id: 'c1' } }] }],
          },
        ],
      },
    })
  })

  it('keeps the attributes of an XmlElement root', () => {
    const source = new Y.Doc()
    const root = source.getXmlElement('page')
    root.setAttribute('lang', 'en')
    root.insert(0, [element('paragraph', {}, [text(['hi'])])])

    const server = serverCopy(source)
    expect(inferRootKind(server, 'page')).toBe('xml')
    expect(docToJson(server)).toEqual({
      page: {
        type: 'doc',
        attrs: { lang: 'en' },
        content: [{ type: 'paragraph', content: [{ type: 'text', text: 'hi' }] }],
      },
    })
  })

  it('gives an empty string for a text whose content was all deleted', () => {
    const source = new Y.Doc()
    const notes = source.getText('notes')
    notes.insert(0, 'gone soon')
    notes.delete(0, notes.length)

    const server = serverCopy(source)
    expect(inferRootKind(server, 'notes')).toBe('empty')
    expect(docToJson(server)).toEqual({ notes: '' })
  })

  it('keeps roots and map keys named __proto__ as plain keys', () => {
    const source = new Y.Doc()
    source.getText('__proto__').insert(0, 'root text')
    const map = source.getMap('settings')
    map.set('__proto__', 'value')
    map.set('constructor', { nested: { __proto__key: 1 } })
    const nested = new Y.Map()
    map.set('inner', nested)
    nested.set('__proto__', 42)
    for (const doc of [source, serverCopy(source)]) {
      const json = JSON.parse(JSON.stringify(docToJson(doc)))
      expect(Object.keys(json).sort()).toEqual(['__proto__', 'settings'])
      expect(Object.getOwnPropertyDescriptor(json, '__proto__')?.value).toBe('root text')
      expect(Object.getOwnPropertyDescriptor(json.settings, '__proto__')?.value).toBe('value')
      expect(Object.getOwnPropertyDescriptor(json.settings.inner, '__proto__')?.value).toBe(42)
      expect(json.settings.constructor).toEqual({ nested: { __proto__key: 1 } })
    }
  })

  it('gives {} for an empty document', () => {
    expect(docToJson(new Y.Doc())).toEqual({})
    expect(docToJson(serverCopy(new Y.Doc()))).toEqual({})
  })
})

describe('the caller’s document', () => {
  it('is neither re-typed nor changed by the conversions', () => {
    const source = structuredSource()
    source.getText('notes').insert(0, 'remember')
    Y.applyUpdate(source, Y.encodeStateAsUpdate(prosemirrorSource()))
    const server = serverCopy(source)
    const rootsBefore = new Map(server.share)
    const stateBefore = Y.encodeStateAsUpdate(server)

    docToJson(server)
    docToText(server, 'default')
    docToText(server, 'settings')
    inferRootKind(server, 'notes')

    expect(new Map(server.share)).toEqual(rootsBefore)
    for (const [name, type] of server.share) {
      expect(type).toBe(rootsBefore.get(name))
      expect(type.constructor).toBe(Y.AbstractType)
    }
    expect(Y.encodeStateAsUpdate(server)).toEqual(stateBefore)
  })

  it('still works with the typed getters after a conversion', () => {
    const server = serverCopy(formattedTextSource())
    docToJson(server)

    expect(server.getText('default').toString()).toBe('Hello world\nsecond line')
  })
})

describe('docToText', () => {
  it('puts each block of an untyped ProseMirror fragment on its own line', () => {
    expect(docToText(serverCopy(prosemirrorSource()))).toBe('Title\nHello bold and link!\none\ntwo\n')
  })

  it('returns the plain string of an untyped text root', () => {
    expect(docToText(serverCopy(formattedTextSource()), 'default')).toBe('Hello world\nsecond line')
  })

  it('reads the named root and defaults to "default"', () => {
    const source = formattedTextSource()
    source.getText('other').insert(0, 'elsewhere')
    const server = serverCopy(source)

    expect(docToText(server)).toBe('Hello world\nsecond line')
    expect(docToText(server, 'other')).toBe('elsewhere')
  })

  it('returns JSON text for map and array roots', () => {
    const server = serverCopy(structuredSource())

    expect(JSON.parse(docToText(server, 'settings'))).toEqual(structuredJson.settings)
    expect(docToText(server, 'items')).toBe('[1,"two",{"three":3},[4,5],{"six":6}]')
  })

  it('returns an empty string for a missing root, an empty document and a deleted text', () => {
    const source = new Y.Doc()
    const notes = source.getText('notes')
    notes.insert(0, 'gone soon')
    notes.delete(0, notes.length)
    const server = serverCopy(source)

    expect(docToText(server, 'nope')).toBe('')
    expect(docToText(new Y.Doc())).toBe('')
    expect(docToText(server, 'notes')).toBe('')
  })
})

describe('inferRootKind', () => {
  it('infers the kind of each untyped root from its content', () => {
    const source = structuredSource()
    source.getText('notes').insert(0, 'remember')
    source.getText('embedOnly').insertEmbed(0, { image: 'cat.png' })
    Y.applyUpdate(source, Y.encodeStateAsUpdate(prosemirrorSource()))
    const server = serverCopy(source)

    expect(inferRootKind(server, 'settings')).toBe('map')
    expect(inferRootKind(server, 'items')).toBe('array')
    expect(inferRootKind(server, 'notes')).toBe('text')
    expect(inferRootKind(server, 'embedOnly')).toBe('text')
    expect(inferRootKind(server, 'default')).toBe('xml')
    expect(inferRootKind(server, 'missing')).toBeUndefined()
  })

  it('reads the kind of roots that are already typed', () => {
    const doc = new Y.Doc()
    doc.getText('t')
    doc.getMap('m')
    doc.getArray('a')
    doc.getXmlFragment('x')

    expect(['t', 'm', 'a', 'x'].map((name) => inferRootKind(doc, name))).toEqual([
      'text',
      'map',
      'array',
      'xml',
    ])
  })

  it('still recognises deleted content that was not garbage-collected', () => {
    const source = new Y.Doc({ gc: false })
    const items = source.getArray('items')
    items.push([1, 2])
    items.delete(0, 2)
    const server = serverCopy(source, { gc: false })

    expect(inferRootKind(server, 'items')).toBe('array')
    expect(docToJson(server)).toEqual({ items: [] })
  })
})

describe('docToYjs', () => {
  it('encodes the full state, so applying it reproduces the content', () => {
    const server = serverCopy(structuredSource())
    const update = docToYjs(server)

    expect(update).toEqual(Y.encodeStateAsUpdate(server))
    const restored = new Y.Doc()
    Y.applyUpdate(restored, update)
    expect(docToJson(restored)).toEqual(structuredJson)
  })
})
