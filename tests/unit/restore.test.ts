import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { docToJson } from '../../server/documents/content.ts'
import { revertUpdate } from '../../server/versions/restore.ts'
import { element, text } from '../helpers/yxml.ts'

/** What the server holds: a garbage-collected document rebuilt from updates, every root untyped. */
function serverCopy(source: Y.Doc): Y.Doc {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(source))
  return doc
}

/** Keeps `server` in step with everything `client` does from now on. */
function relay(client: Y.Doc, server: Y.Doc): void {
  client.on('update', (update: Uint8Array) => Y.applyUpdate(server, update))
}

/**
 * A client writes `version`, the server stores it, the client keeps editing with `edit`; then the
 * server restores the version. Returns the server document after the revert, what it held at the
 * version, and the client (which received the revert too).
 */
function restoreAfter(version: (doc: Y.Doc) => void, edit: (doc: Y.Doc) => void) {
  const client = new Y.Doc()
  version(client)
  const server = serverCopy(client)
  const versionState = Y.encodeStateAsUpdate(server)
  const expected = docToJson(server)
  relay(client, server)
  edit(client)
  expect(docToJson(server)).not.toEqual(expected)
  const revert = revertUpdate(server, versionState)
  Y.applyUpdate(server, revert)
  Y.applyUpdate(client, revert)
  return { server, client, expected, revert }
}

/** A Tiptap (StarterKit) document as y-prosemirror stores it: marks are formatting attributes. */
function tiptapDocument(doc: Y.Doc): void {
  doc
    .getXmlFragment('default')
    .insert(0, [
      element('heading', { level: 1 }, [text(['Release notes'])]),
      element('paragraph', {}, [text(['Ship '], ['fast', { bold: {} }], [' and '], ['safely', { italic: {} }], ['.'])]),
      element('bulletList', {}, [
        element('listItem', {}, [element('paragraph', {}, [text(['one'])])]),
        element('listItem', {}, [element('paragraph', {}, [text(['two', { code: {} }])])]),
      ]),
    ])
}

describe('revertUpdate', () => {
  it('restores a Y.Text root: inserts, deletes and formatting since the version are undone', () => {
    const { server, client, expected } = restoreAfter(
      (doc) => doc.getText('default').insert(0, 'Hello world'),
      (doc) => {
        const text = doc.getText('default')
        text.delete(0, 6)
        text.insert(0, 'Goodbye, cruel ')
        text.format(0, 7, { bold: true })
        text.insert(text.length, '!')
      },
    )
    expect(docToJson(server)).toEqual(expected)
    expect(client.getText('default').toString()).toBe('Hello world')
    expect(client.getText('default').toDelta()).toEqual([{ insert: 'Hello world' }])
  })

  it('restores a Y.Map root: overwritten, deleted, added and nested keys', () => {
    const { server, client, expected } = restoreAfter(
      (doc) => {
        const map = doc.getMap('settings')
        map.set('title', 'Plan')
        map.set('count', 1)
        const nested = new Y.Map()
        nested.set('theme', 'dark')
        map.set('ui', nested)
      },
      (doc) => {
        const map = doc.getMap('settings')
        map.set('title', 'Other plan')
        map.delete('count')
        map.set('added', true)
        ;(map.get('ui') as Y.Map<unknown>).set('theme', 'light')
      },
    )
    expect(docToJson(server)).toEqual(expected)
    expect(client.getMap('settings').toJSON()).toEqual({ title: 'Plan', count: 1, ui: { theme: 'dark' } })
  })

  it('restores a Y.Array root: deleted, inserted and nested items', () => {
    const { server, client, expected } = restoreAfter(
      (doc) => doc.getArray('items').push(['a', 'b', { c: 3 }]),
      (doc) => {
        const array = doc.getArray('items')
        array.delete(0, 1)
        array.insert(1, ['x', 'y'])
        const nested = new Y.Array()
        nested.push([1, 2])
        array.push([nested])
      },
    )
    expect(docToJson(server)).toEqual(expected)
    expect(client.getArray('items').toJSON()).toEqual(['a', 'b', { c: 3 }])
  })

  it('restores a Tiptap-shaped Y.XmlFragment: headings, lists, marks and attributes', () => {
    const { server, client, expected } = restoreAfter(tiptapDocument, (doc) => {
      const fragment = doc.getXmlFragment('default')
      const heading = fragment.get(0) as Y.XmlElement
      heading.setAttribute('level', 2 as unknown as string)
      ;(heading.get(0) as Y.XmlText).insert(0, 'Draft ')
      const paragraph = (fragment.get(1) as Y.XmlElement).get(0) as Y.XmlText
      paragraph.format(5, 4, { bold: null })
      paragraph.format(0, 4, { italic: {} })
      const list = fragment.get(2) as Y.XmlElement
      list.delete(0, 1)
      list.push([element('listItem', {}, [element('paragraph', {}, [text(['three'])])])])
      fragment.push([element('blockquote', {}, [element('paragraph', {}, [text(['quoted'])])])])
    })
    expect(docToJson(server)).toEqual(expected)
    expect(docToJson(serverCopy(client))).toEqual(expected)
    expect(client.getXmlFragment('default').toString()).toBe(
      // Y.XmlElement#toString lowercases node names.
      '<heading level="1">Release notes</heading><paragraph>Ship <bold>fast</bold> and <italic>safely</italic>.</paragraph>' +
        '<bulletlist><listitem><paragraph>one</paragraph></listitem><listitem><paragraph><code>two</code></paragraph></listitem></bulletlist>',
    )
  })

  it('restores every root at once; a root created after the version ends up empty', () => {
    const { server, client } = restoreAfter(
      (doc) => {
        doc.getText('default').insert(0, 'text')
        doc.getMap('meta').set('k', 'v')
      },
      (doc) => {
        doc.getText('default').insert(4, ' more')
        doc.getMap('meta').set('k', 'w')
        doc.getArray('later').push(['new'])
      },
    )
    expect(client.getText('default').toString()).toBe('text')
    expect(client.getMap('meta').toJSON()).toEqual({ k: 'v' })
    expect(client.getArray('later').toJSON()).toEqual([])
    expect(docToJson(serverCopy(client))).toEqual(docToJson(server))
  })

  it('restores the empty document (version 0)', () => {
    const { client } = restoreAfter(
      () => {},
      (doc) => {
        doc.getText('default').insert(0, 'written later')
        doc.getMap('meta').set('k', 'v')
      },
    )
    expect(client.getText('default').toString()).toBe('')
    expect(client.getMap('meta').toJSON()).toEqual({})
  })

  it('only reads the live document, and changes nothing when it already equals the version', () => {
    const client = new Y.Doc()
    client.getText('default').insert(0, 'same')
    const server = serverCopy(client)
    const before = Y.encodeStateAsUpdate(server)
    const revert = revertUpdate(server, Y.encodeStateAsUpdate(server))
    expect(Y.encodeStateAsUpdate(server)).toEqual(before)
    Y.applyUpdate(server, revert)
    expect(Y.encodeStateVector(server)).toEqual(Y.encodeStateVector(serverCopy(client)))
    expect(docToJson(server)).toEqual({ default: 'same' })
  })

  it('lets edits made offline before the restore merge in after it', () => {
    const client = new Y.Doc()
    client.getText('default').insert(0, 'Hello world')
    const server = serverCopy(client)
    const version = Y.encodeStateAsUpdate(server)
    relay(client, server)
    client.getText('default').insert(11, ', again')
    const offline = serverCopy(client)
    offline.getText('default').insert(0, '>> ')
    Y.applyUpdate(server, revertUpdate(server, version))
    expect(docToJson(server)).toEqual({ default: 'Hello world' })
    Y.applyUpdate(server, Y.encodeStateAsUpdate(offline, Y.encodeStateVector(server)))
    expect(docToJson(server)).toEqual({ default: '>> Hello world' })
  })
})
