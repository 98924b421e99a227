import { expect, it } from 'vitest'
import { api, createDocument, createShareLink, registerUser, share } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket, type HocuspocusClient, type YWebsocketClient } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { collectNotices, within } from '../../helpers/live-checks.ts'
import { startTestServer, type TestServer } from '../../helpers/server.ts'

// "Within a second": these fail only by timeout.
const WITHIN_A_SECOND = { timeout: 1_000, interval: 20 }

function hpClosed(client: HocuspocusClient): Promise<string> {
  return new Promise((resolve) => client.provider.on('close', ({ event }: { event: { reason: string } }) => resolve(event.reason)))
}

function ywsClosed(client: YWebsocketClient): Promise<number> {
  return new Promise((resolve) =>
    client.provider.on('connection-close', (event: { code: number } | null) => resolve(event?.code ?? 0)),
  )
}

function serverText(server: TestServer, id: string): string | undefined {
  return server.collab.hocuspocus.documents.get(id)?.getText('default').toString()
}

async function setup(databases: { create(): Promise<TestServer['config']['database']> }) {
  const server = await startTestServer(await databases.create())
  const owner = await registerUser(server, 'Owner')
  const member = await registerUser(server, 'Member')
  await createDocument(server, owner, 'live')
  await share(server, owner, 'live', member, 'editor')
  const watcher = connectHocuspocus(server, 'live', { token: owner.accessToken })
  await watcher.synced
  return { server, owner, member, watcher }
}

describeEachDatabase('live enforcement', (databases) => {
  it('removing a collaborator closes their connections on both protocols within a second', async () => {
    const { server, owner, member, watcher } = await setup(databases)
    const hp = connectHocuspocus(server, 'live', { token: member.accessToken })
    const yws = connectYWebsocket(server, 'live', { token: member.accessToken })
    await Promise.all([hp.synced, yws.synced])
    const closes = [hpClosed(hp), ywsClosed(yws)]
    // HocuspocusProvider tells the app why (onAuthenticationFailed), not only that the document closed.
    const denied = new Promise<string>((resolve) =>
      hp.provider.on('authenticationFailed', ({ reason }: { reason: string }) => resolve(reason)),
    )

    expect((await api(server, 'DELETE', `/documents/live/collaborators/${member.id}`, { token: owner.accessToken })).status).toBe(204)
    const [hpReason, ywsCode] = await within(Promise.all(closes), 1_000, 'closing the revoked connections')
    expect(hpReason).toBe('not-found')
    expect(ywsCode).toBe(4404)
    expect(await within(denied, 1_000, 'permission-denied reaching the provider')).toBe('not-found')

    // Nothing they type afterwards reaches the document; the owner's connection is untouched.
    hp.doc.getText('default').insert(0, 'after revoke')
    watcher.doc.getText('default').insert(0, 'owner still here')
    await expect.poll(() => serverText(server, 'live')).toBe('owner still here')
    // 44xx close codes are terminal for y-websocket: no reconnect churn against a refusal.
    expect(yws.provider.shouldConnect).toBe(false)
  })

  it('downgrading to viewer stops edits at once; upgrading restores them', async () => {
    const { server, owner, member, watcher } = await setup(databases)
    const hp = connectHocuspocus(server, 'live', { token: member.accessToken })
    const yws = connectYWebsocket(server, 'live', { token: member.accessToken })
    await Promise.all([hp.synced, yws.synced])
    hp.doc.getText('default').insert(0, 'A')
    await expect.poll(() => serverText(server, 'live')).toBe('A')

    await api(server, 'PUT', `/documents/live/collaborators/${member.id}`, { token: owner.accessToken, body: { role: 'viewer' } })
    const dropped = server.collab.metrics.droppedReadOnlyUpdates
    hp.doc.getText('default').insert(1, 'B')
    yws.doc.getText('default').insert(0, 'C')
    // Still connected and still receiving: the owner's edit arrives; their own edits went nowhere.
    watcher.doc.getText('default').insert(0, 'owner:')
    await expect.poll(() => hp.doc.getText('default').toString(), WITHIN_A_SECOND).toMatch(/^owner:/)
    await expect.poll(() => yws.doc.getText('default').toString().includes('owner:')).toBe(true)
    await expect.poll(() => server.collab.metrics.droppedReadOnlyUpdates).toBeGreaterThanOrEqual(dropped + 2)
    expect(serverText(server, 'live')).toBe('owner:A')
    expect(watcher.doc.getText('default').toString()).toBe('owner:A')

    await api(server, 'PUT', `/documents/live/collaborators/${member.id}`, { token: owner.accessToken, body: { role: 'editor' } })
    hp.doc.getText('default').insert(0, 'D')
    // Back to editor: the new edit lands, and so do the edits they typed while read-only (their
    // later updates depend on them), rather than their copy staying diverged forever.
    await expect.poll(() => [...(serverText(server, 'live') ?? '')].sort().join('')).toBe([...'owner:ABCD'].sort().join(''))
    await expect.poll(() => watcher.doc.getText('default').toString()).toBe(hp.doc.getText('default').toString())
  })

  it('an open editor is told its new role and a new title, without reconnecting', async () => {
    const { server, owner, member, watcher } = await setup(databases)
    const hp = connectHocuspocus(server, 'live', { token: member.accessToken })
    await hp.synced
    const notices = [hp, watcher].map(collectNotices)
    const setRole = (role: string) =>
      api(server, 'PUT', `/documents/live/collaborators/${member.id}`, { token: owner.accessToken, body: { role } })

    await setRole('viewer')
    await expect.poll(() => notices[0], WITHIN_A_SECOND).toEqual([{ type: 'access', role: 'viewer' }])
    await setRole('editor')
    await expect.poll(() => notices[0], WITHIN_A_SECOND).toEqual([
      { type: 'access', role: 'viewer' },
      { type: 'access', role: 'editor' },
    ])
    // Re-granting the same role tells nobody anything; the owner's role never changed.
    await setRole('editor')
    expect((await api(server, 'PATCH', '/documents/live', { token: member.accessToken, body: { title: 'Renamed live' } })).status).toBe(200)
    for (const seen of notices) await expect.poll(() => seen.at(-1), WITHIN_A_SECOND).toEqual({ type: 'document', title: 'Renamed live' })
    expect(notices[0]).toHaveLength(3)
    expect(notices[1]).toEqual([{ type: 'document', title: 'Renamed live' }])
  })

  it("a viewer's edits never reach the server or other clients, on either protocol", async () => {
    const { server, owner, watcher } = await setup(databases)
    const viewer = await registerUser(server, 'Viewer')
    await share(server, owner, 'live', viewer, 'viewer')
    watcher.doc.getText('default').insert(0, 'original')
    await expect.poll(() => serverText(server, 'live')).toBe('original')

    const hp = connectHocuspocus(server, 'live', { token: viewer.accessToken })
    const yws = connectYWebsocket(server, 'live', { token: viewer.accessToken })
    await Promise.all([hp.synced, yws.synced])
    expect(hp.provider.authorizedScope).toBe('readonly')
    expect(yws.doc.getText('default').toString()).toBe('original')
    const before = server.collab.metrics.droppedReadOnlyUpdates

    hp.doc.getText('default').insert(0, 'HP viewer ')
    yws.doc.getText('default').insert(0, 'YWS viewer ')
    hp.doc.getMap('meta').set('hacked', true)
    await expect.poll(() => server.collab.metrics.droppedReadOnlyUpdates).toBeGreaterThanOrEqual(before + 3)
    // A live edit by the owner still reaches the viewers.
    watcher.doc.getText('default').insert(8, '!')
    await expect.poll(() => yws.doc.getText('default').toString().endsWith('original!')).toBe(true)
    await expect.poll(() => server.collab.updateLog.pendingCount('live'), { timeout: 5_000 }).toBe(0)
    expect(serverText(server, 'live')).toBe('original!')
    expect(watcher.doc.getText('default').toString()).toBe('original!')
    expect(watcher.doc.getMap('meta').toJSON()).toEqual({})
    const stored = await api(server, 'GET', '/documents/live/content', { token: owner.accessToken })
    expect(stored.body).toEqual({ default: 'original!' })
  })

  it('revoking a share link closes the connections made with it', async () => {
    const { server, owner } = await setup(databases)
    const link = await createShareLink(server, owner, 'live', 'editor')
    const hp = connectHocuspocus(server, 'live', { token: link.token })
    const yws = connectYWebsocket(server, 'live', { token: link.token })
    await Promise.all([hp.synced, yws.synced])
    hp.doc.getText('default').insert(0, 'via link')
    await expect.poll(() => serverText(server, 'live')).toBe('via link')
    // Edits through a link are attributed to the link.
    await expect.poll(() => server.collab.updateLog.pendingCount('live'), { timeout: 5_000 }).toBe(0)
    const rows = await server.database.db.selectFrom('document_updates').select('authors').where('document_id', '=', 'live').execute()
    expect(rows.flatMap((r) => JSON.parse(r.authors) as string[])).toContain(`link:${link.id}`)

    const closes = [hpClosed(hp), ywsClosed(yws)]
    expect((await api(server, 'DELETE', `/documents/live/share-links/${link.id}`, { token: owner.accessToken })).status).toBe(204)
    const [reason, code] = await within(Promise.all(closes), 1_000, 'closing the link connections')
    expect(reason).toBe('not-found')
    expect(code).toBe(4404)
    expect((await api(server, 'GET', '/documents/live', { token: link.token })).status).toBe(401)
  })

  it('an expiring share link closes its connections when it expires', async () => {
    const { server, owner } = await setup(databases)
    const link = await createShareLink(server, owner, 'live', 'viewer', new Date(Date.now() + 1_500).toISOString())
    const yws = connectYWebsocket(server, 'live', { token: link.token })
    await yws.synced
    expect(await within(ywsClosed(yws), 4_000, 'closing at expiry')).toBe(4404)
  })

  it('records the real author of every edit in the update log', async () => {
    const { server, owner, member, watcher } = await setup(databases)
    const hp = connectHocuspocus(server, 'live', { token: member.accessToken })
    await hp.synced
    watcher.doc.getText('default').insert(0, 'owner ')
    await expect.poll(() => server.collab.updateLog.pendingCount('live'), { timeout: 5_000 }).toBe(0)
    await expect.poll(() => hp.doc.getText('default').toString()).toBe('owner ')
    hp.doc.getText('default').insert(6, 'member')
    await expect.poll(() => serverText(server, 'live')).toBe('owner member')
    await expect.poll(() => server.collab.updateLog.pendingCount('live'), { timeout: 5_000 }).toBe(0)
    const rows = await server.database.db.selectFrom('document_updates').select(['seq', 'authors']).where('document_id', '=', 'live').orderBy('seq').execute()
    const authors = new Set(rows.flatMap((r) => JSON.parse(r.authors) as string[]))
    expect([...authors].sort()).toEqual([member.id, owner.id].sort())
  })
})
