import { expect, it } from 'vitest'
import { api, createDocument, registerUser, share } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { hocuspocusDenied, refusedUpdates, yWebsocketClosed } from '../../helpers/live-checks.ts'
import { startTestServer, type TestServer } from '../../helpers/server.ts'

const liveText = (server: TestServer, id: string) => server.collab.hocuspocus.documents.get(id)?.getText('default').toString()

/**
 * The role a caller gets on connecting is remembered per (caller, document), so reconnecting and
 * opening more tabs skips the document and membership queries. These check that no access change
 * is ever answered from that memory: each new connection right after a change gets the new role.
 */
describeEachDatabase('roles on connect', (databases) => {
  it('a downgrade, an upgrade and a removal apply to the very next connection', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await registerUser(server, 'Owner')
    const member = await registerUser(server, 'Member')
    const { id } = await createDocument(server, owner)
    await share(server, owner, id, member, 'editor')
    const watcher = connectHocuspocus(server, id, { token: owner.accessToken })
    await watcher.synced

    // Connected as an editor twice: the role is remembered.
    for (const text of ['one ', 'two ']) {
      const editor = connectHocuspocus(server, id, { token: member.accessToken })
      await editor.synced
      editor.doc.getText('default').insert(0, text)
      await expect.poll(() => liveText(server, id)).toContain(text)
      editor.destroy()
    }

    await share(server, owner, id, member, 'viewer')
    const viewer = connectHocuspocus(server, id, { token: member.accessToken })
    const refused = refusedUpdates(viewer)
    await viewer.synced
    viewer.doc.getText('default').insert(0, 'as viewer ')
    await expect.poll(() => refused.count).toBeGreaterThan(0)
    expect(liveText(server, id)).not.toContain('as viewer')
    viewer.destroy()

    await share(server, owner, id, member, 'editor')
    const again = connectYWebsocket(server, id, { token: member.accessToken })
    await again.synced
    again.doc.getText('default').insert(0, 'editor again ')
    await expect.poll(() => liveText(server, id)).toContain('editor again')
    again.destroy()

    expect((await api(server, 'DELETE', `/documents/${id}/collaborators/${member.id}`, { token: owner.accessToken })).status).toBe(204)
    const removed = connectHocuspocus(server, id, { token: member.accessToken })
    expect(await hocuspocusDenied(removed)).toBe('not-found')
    const removedYws = connectYWebsocket(server, id, { token: member.accessToken })
    expect((await yWebsocketClosed(removedYws)).code).toBe(4404)
  })

  it('a refusal is not remembered: sharing a moment later lets the same user in', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await registerUser(server, 'Owner')
    const guest = await registerUser(server, 'Guest')
    const { id } = await createDocument(server, owner)
    const early = connectHocuspocus(server, id, { token: guest.accessToken })
    expect(await hocuspocusDenied(early)).toBe('not-found')
    early.destroy()
    await share(server, owner, id, guest, 'editor')
    const admitted = connectHocuspocus(server, id, { token: guest.accessToken })
    await admitted.synced
    admitted.doc.getText('default').insert(0, 'let in')
    await expect.poll(() => liveText(server, id)).toBe('let in')
  })

  it('a deleted document refuses the next connection of someone who was just in it', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await registerUser(server, 'Owner')
    const { id } = await createDocument(server, owner)
    const first = connectHocuspocus(server, id, { token: owner.accessToken })
    await first.synced
    first.destroy()
    expect((await api(server, 'DELETE', `/documents/${id}`, { token: owner.accessToken })).status).toBe(204)
    const after = connectHocuspocus(server, id, { token: owner.accessToken })
    expect(await hocuspocusDenied(after)).toBe('not-found')
  })
})
