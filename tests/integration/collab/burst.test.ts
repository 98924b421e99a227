import { expect, it } from 'vitest'
import { documentWithOwner } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { replayJson } from '../../helpers/log.ts'
import { startTestServer } from '../../helpers/server.ts'

const EDITS = 20_000

describeEachDatabase('bursts', (databases) => {
  // No time assertion: this fails only by timeout, as stock Hocuspocus does on such a burst.
  it('20,000 single-character updates sent at once reach other clients and the database intact', async () => {
    const server = await startTestServer(await databases.create(), {
      STORE_DEBOUNCE_MS: '200',
      STORE_MAX_DEBOUNCE_MS: '1000',
    })
    const { accessToken: token } = await documentWithOwner(server, 'burst')
    const writer = connectHocuspocus(server, 'burst', { token })
    const hpReader = connectHocuspocus(server, 'burst', { token })
    const ywsReader = connectYWebsocket(server, 'burst', { token })
    await Promise.all([writer.synced, hpReader.synced, ywsReader.synced])

    const text = writer.doc.getText('default')
    let seed = 7
    for (let i = 0; i < EDITS; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      // Mostly typing forward, sometimes elsewhere, sometimes deleting: each its own transaction and update.
      if (i % 10 === 9 && text.length > 0) text.delete(seed % text.length, 1)
      else text.insert(i % 4 === 0 ? seed % (text.length + 1) : text.length, String.fromCharCode(97 + (seed % 26)))
    }
    const expected = text.toString()
    expect(expected.length).toBe(EDITS - 2 * Math.floor(EDITS / 10))

    await expect.poll(() => hpReader.doc.getText('default').toString(), { timeout: 90_000, interval: 200 }).toBe(expected)
    await expect.poll(() => ywsReader.doc.getText('default').toString(), { timeout: 90_000, interval: 200 }).toBe(expected)
    await expect.poll(() => server.collab.updateLog.pendingCount('burst'), { timeout: 30_000 }).toBe(0)
    expect(await replayJson(server.database.db, 'burst')).toEqual({ default: expected })
  })

  it('a client reconnecting with a 20,000-edit offline backlog is served and stored', async () => {
    const server = await startTestServer(await databases.create())
    const { accessToken: token } = await documentWithOwner(server, 'backlog')
    const reader = connectYWebsocket(server, 'backlog', { token })
    const writer = connectHocuspocus(server, 'backlog', { token })
    await Promise.all([reader.synced, writer.synced])
    writer.socket.disconnect()
    await expect.poll(() => writer.socket.status).toBe('disconnected')
    const text = writer.doc.getText('default')
    for (let i = 0; i < EDITS; i++) text.insert(i % 3 === 0 ? 0 : text.length, String.fromCharCode(97 + (i % 26)))
    const expected = text.toString()
    void writer.socket.connect()
    await expect.poll(() => reader.doc.getText('default').toString(), { timeout: 60_000, interval: 200 }).toBe(expected)
    await expect.poll(() => server.collab.updateLog.pendingCount('backlog'), { timeout: 30_000 }).toBe(0)
    expect(await replayJson(server.database.db, 'backlog')).toEqual({ default: expected })
  })
})
