import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { docToJson } from '../../../server/documents/content.ts'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { documentWithOwner } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { startServerProcess } from '../../helpers/process.ts'

describeEachDatabase('restart', (databases) => {
  it('[P5] edits survive SIGTERM and a restart on the same database, every root type identical', async () => {
    const database = await databases.create()
    // A long debounce: the edits are still unstored when SIGTERM arrives, so shutdown must flush them.
    const env = {
      DATABASE_URL: database.url,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'collab-data-')),
      STORE_DEBOUNCE_MS: '60000',
      STORE_MAX_DEBOUNCE_MS: '120000',
    }
    const first = await startServerProcess(env)
    const { accessToken: token } = await documentWithOwner(first, 'durable')
    const writer = connectHocuspocus(first, 'durable', { token })
    const other = connectYWebsocket(first, 'durable', { token })
    await Promise.all([writer.synced, other.synced])

    writer.doc.getText('default').insert(0, 'Never lose a word.')
    writer.doc.getText('default').format(0, 5, { bold: true })
    writer.doc.getMap('meta').set('title', 'Durable')
    writer.doc.getMap('meta').set('nested', new Y.Map([['count', 3]]))
    writer.doc.getArray('list').push(['one', 2, { three: 3 }])
    const paragraph = new Y.XmlElement('paragraph')
    paragraph.insert(0, [new Y.XmlText('rich text')])
    writer.doc.getXmlFragment('prosemirror').insert(0, [paragraph])
    await expect.poll(() => other.doc.getText('default').toString()).toBe('Never lose a word.')
    other.doc.getText('default').insert(0, '> ')

    const expected = () => docToJson(writer.doc)
    await expect.poll(() => writer.doc.getText('default').toString()).toBe('> Never lose a word.')
    await expect.poll(() => docToJson(other.doc)).toEqual(expected())
    await expect
      .poll(async () => (await fetch(`${first.url}/api/v1/documents/durable/content`, { headers: { authorization: `Bearer ${token}` } })).json())
      .toEqual(expected())

    expect(await first.stop('SIGTERM')).toBe(0)
    expect(first.output()).toContain('shutdown complete')
    writer.destroy()
    other.destroy()

    const second = await startServerProcess(env)
    // The auth secret lives in DATA_DIR, so the token from before the restart still works.
    const reader = connectHocuspocus(second, 'durable', { token })
    await reader.synced
    expect(docToJson(reader.doc)).toEqual(expected())
    // The rich text keeps its formatting too.
    expect(reader.doc.getText('default').toDelta()).toEqual(writer.doc.getText('default').toDelta())
    expect(await second.stop('SIGTERM')).toBe(0)
  })
})
