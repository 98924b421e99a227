import { expect, it } from 'vitest'
import { docToJson } from '../../../server/documents/content.ts'
import { documentWithOwner } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { replayJson } from '../../helpers/log.ts'
import { startTestServer } from '../../helpers/server.ts'

describeEachDatabase('offline merge', (databases) => {
  it('clients that edit while disconnected converge on reconnect, and the database holds every edit', async () => {
    const server = await startTestServer(await databases.create())
    const { accessToken: token } = await documentWithOwner(server, 'offline')
    const { db } = server.database
    const online = connectHocuspocus(server, 'offline', { token })
    const hpOffline = connectHocuspocus(server, 'offline', { token })
    const ywsOffline = connectYWebsocket(server, 'offline', { token })
    await Promise.all([online.synced, hpOffline.synced, ywsOffline.synced])
    online.doc.getText('default').insert(0, 'base.')
    await expect.poll(() => hpOffline.doc.getText('default').toString()).toBe('base.')
    await expect.poll(() => ywsOffline.doc.getText('default').toString()).toBe('base.')

    hpOffline.socket.disconnect()
    ywsOffline.provider.disconnect()
    await expect.poll(() => ywsOffline.provider.wsconnected).toBe(false)
    await expect.poll(() => hpOffline.socket.status).toBe('disconnected')

    hpOffline.doc.getText('default').insert(5, ' hp-offline.')
    hpOffline.doc.getMap('offline').set('hp', true)
    ywsOffline.doc.getText('default').insert(0, 'yws-offline. ')
    ywsOffline.doc.getMap('offline').set('yws', true)
    online.doc.getText('default').insert(5, ' online.')
    // Nothing offline reached the others yet.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(online.doc.getMap('offline').toJSON()).toEqual({})

    void hpOffline.socket.connect()
    ywsOffline.provider.connect()

    const all = [online, hpOffline, ywsOffline]
    for (const client of all) {
      await expect.poll(() => client.doc.getMap('offline').toJSON()).toEqual({ hp: true, yws: true })
      await expect
        .poll(() => client.doc.getText('default').length)
        .toBe('yws-offline. base. online. hp-offline.'.length)
    }
    const converged = docToJson(online.doc)
    expect(docToJson(hpOffline.doc)).toEqual(converged)
    expect(docToJson(ywsOffline.doc)).toEqual(converged)
    for (const part of ['yws-offline. ', 'base.', ' online.', ' hp-offline.']) {
      expect(converged.default).toContain(part)
    }
    await expect.poll(() => server.collab.updateLog.pendingCount('offline'), { timeout: 5_000 }).toBe(0)
    await expect.poll(() => replayJson(db, 'offline')).toEqual(converged)
  })
})
