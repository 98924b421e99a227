import { expect, it } from 'vitest'
import { docToJson } from '../../../server/documents/content.ts'
import { documentWithOwner } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { startTestServer } from '../../helpers/server.ts'

describeEachDatabase('live sync', (databases) => {
  it('two HocuspocusProvider clients converge', async () => {
    const server = await startTestServer(await databases.create())
    const { accessToken: token } = await documentWithOwner(server, 'notes')
    const a = connectHocuspocus(server, 'notes', { token })
    const b = connectHocuspocus(server, 'notes', { token })
    await Promise.all([a.synced, b.synced])

    a.doc.getText('default').insert(0, 'hello ')
    b.doc.getMap('meta').set('title', 'Notes')
    b.doc.getText('default').insert(0, 'world')

    // Concurrent inserts at 0 interleave by client id; either order is a correct convergence.
    await expect.poll(() => a.doc.getText('default').length).toBe(11)
    await expect.poll(() => b.doc.getText('default').length).toBe(11)
    expect(['hello world', 'worldhello ']).toContain(a.doc.getText('default').toString())
    expect(docToJson(b.doc)).toEqual(docToJson(a.doc))
    expect(docToJson(a.doc)).toMatchObject({ meta: { title: 'Notes' } })
    expect(docToJson(server.collab.hocuspocus.documents.get('notes')!)).toEqual(docToJson(a.doc))
  })

  it('a HocuspocusProvider and a y-websocket client converge both ways, awareness included', async () => {
    const server = await startTestServer(await databases.create())
    const { accessToken: token } = await documentWithOwner(server, 'shared-doc')
    const hp = connectHocuspocus(server, 'shared-doc', { token })
    const yws = connectYWebsocket(server, 'shared-doc', { token })
    await Promise.all([hp.synced, yws.synced])

    hp.doc.getText('default').insert(0, 'from hocuspocus. ')
    await expect.poll(() => yws.doc.getText('default').toString()).toBe('from hocuspocus. ')
    yws.doc.getText('default').insert(yws.doc.getText('default').length, 'from y-websocket.')
    await expect.poll(() => hp.doc.getText('default').toString()).toBe('from hocuspocus. from y-websocket.')

    // A field the server passes through as sent (it stamps `user` with the caller's identity).
    hp.provider.setAwarenessField('label', 'Hope')
    yws.provider.awareness.setLocalStateField('label', 'Yara')
    const names = (states: Map<number, Record<string, unknown>>) =>
      [...states.values()]
        .map((s) => s.label as string | undefined)
        .filter(Boolean)
        .sort()
    await expect.poll(() => names(yws.provider.awareness.getStates())).toEqual(['Hope', 'Yara'])
    await expect.poll(() => names(hp.provider.awareness!.getStates())).toEqual(['Hope', 'Yara'])

    // When the y-websocket client leaves, its presence disappears for the others.
    yws.destroy()
    await expect.poll(() => names(hp.provider.awareness!.getStates())).toEqual(['Hope'])
  })

  it('a late joiner on either protocol receives the existing content', async () => {
    const server = await startTestServer(await databases.create())
    const { accessToken: token } = await documentWithOwner(server, 'late')
    const writer = connectHocuspocus(server, 'late', { token })
    await writer.synced
    writer.doc.getText('default').insert(0, 'written before you came')
    writer.doc.getArray('list').push([1, 2, 3])
    await expect
      .poll(() => server.collab.hocuspocus.documents.get('late')?.getText('default').toString())
      .toBe('written before you came')

    const lateHp = connectHocuspocus(server, 'late', { token })
    const lateYws = connectYWebsocket(server, 'late', { token })
    await Promise.all([lateHp.synced, lateYws.synced])
    expect(docToJson(lateHp.doc)).toEqual({ default: 'written before you came', list: [1, 2, 3] })
    expect(docToJson(lateYws.doc)).toEqual({ default: 'written before you came', list: [1, 2, 3] })
  })

  it('serves /health and /ready on the same port and refuses other upgrade paths with 404', async () => {
    const server = await startTestServer(await databases.create())
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
    const ready = await fetch(`${server.url}/ready`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready', checks: { migrations: 'ok', database: 'ok' } })
    for (const path of ['/elsewhere', '/yjs/', '/yjs/bad%20id', '/collabx']) {
      const status = await upgradeStatus(`${server.url}${path}`)
      expect(status, path).toBe(404)
    }
  })
})

async function upgradeStatus(url: string): Promise<number> {
  const { request } = await import('node:http')
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    })
    req.on('response', (res) => {
      resolve(res.statusCode ?? 0)
      res.resume()
    })
    req.on('upgrade', (res, socket) => {
      socket.destroy()
      resolve(res.statusCode ?? 101)
    })
    req.on('error', reject)
    req.end()
  })
}
