import { expect, it, vi } from 'vitest'
import { api, createDocument, registerUser } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { replayJson } from '../../helpers/log.ts'
import { markers, openDatabase, startInstances } from '../../helpers/multi-instance.ts'
import { startTestRedis } from '../../helpers/redis.ts'

const CONVERGED = { timeout: 20_000, interval: 50 }

describeEachDatabase('[multi-instance] Redis outage', (databases) => {
  it('instances keep serving and storing while Redis is down, and resync when it comes back empty', async () => {
    const redis = await startTestRedis()
    const database = await databases.create()
    const [a, b] = await startInstances(database, { redisUrl: redis.url })
    const db = openDatabase(database)
    const owner = await registerUser(a, 'Owner')
    const { id } = await createDocument(a, owner)
    const onA = connectHocuspocus(a, id, { token: owner.accessToken })
    const onB = connectYWebsocket(b, id, { token: owner.accessToken })
    await Promise.all([onA.synced, onB.synced])
    onA.doc.getText('default').insert(0, 'before ')
    onA.provider.setAwarenessField('marker', 'on A')
    await vi.waitFor(() => expect(onB.doc.getText('default').toString()).toBe('before '), CONVERGED)
    await vi.waitFor(() => expect(markers(onB.provider.awareness)).toContain('on A'), CONVERGED)

    await redis.kill()
    // Cut off from A, B stops vouching for A's presence (A could have died: nothing says otherwise).
    await vi.waitFor(() => expect(markers(onB.provider.awareness)).not.toContain('on A'), CONVERGED)
    // Each instance goes on serving its own clients, on both protocols, and storing their edits.
    const secondOnA = connectYWebsocket(a, id, { token: owner.accessToken })
    const secondOnB = connectHocuspocus(b, id, { token: owner.accessToken })
    await Promise.all([secondOnA.synced, secondOnB.synced])
    onA.doc.getText('default').insert(0, '[A] ')
    onB.doc.getText('default').insert(0, '[B] ')
    await vi.waitFor(() => expect(secondOnA.doc.getText('default').toString()).toContain('[A] '), CONVERGED)
    await vi.waitFor(() => expect(secondOnB.doc.getText('default').toString()).toContain('[B] '), CONVERGED)
    await vi.waitFor(async () => {
      const stored = String((await replayJson(db, id)).default)
      expect(stored).toContain('[A] ')
      expect(stored).toContain('[B] ')
    }, CONVERGED)
    // A document first opened during the outage loads from the database alone.
    const other = await createDocument(b, owner)
    const lateOnA = connectHocuspocus(a, other.id, { token: owner.accessToken })
    const lateOnB = connectHocuspocus(b, other.id, { token: owner.accessToken })
    await Promise.all([lateOnA.synced, lateOnB.synced])
    lateOnA.doc.getText('default').insert(0, 'late A ')
    lateOnB.doc.getText('default').insert(0, 'late B ')
    // REST keeps working on both.
    expect((await api(a, 'GET', `/documents/${id}/content?format=text`, { token: owner.accessToken })).status).toBe(200)
    expect((await api(b, 'GET', '/documents', { token: owner.accessToken })).status).toBe(200)
    secondOnB.provider.setAwarenessField('marker', 'on B')

    await redis.restart()
    await vi.waitFor(() => {
      const texts = [onA, onB, secondOnA, secondOnB].map((client) => client.doc.getText('default').toString())
      for (const text of texts) expect(text).toBe(texts[0])
      expect(texts[0]).toContain('[A] ')
      expect(texts[0]).toContain('[B] ')
      expect(texts[0]).toContain('before ')
    }, CONVERGED)
    await vi.waitFor(() => {
      const texts = [lateOnA, lateOnB].map((client) => client.doc.getText('default').toString())
      expect(texts[0]).toBe(texts[1])
      expect(texts[0]).toContain('late A ')
      expect(texts[0]).toContain('late B ')
    }, CONVERGED)
    // Presence crosses again: A's unchanged state, and one set on B during the outage.
    await vi.waitFor(() => expect(markers(onB.provider.awareness)).toContain('on A'), CONVERGED)
    await vi.waitFor(() => expect(markers(onA.provider.awareness!)).toContain('on B'), CONVERGED)
    // And live sync works again in both directions.
    onB.doc.getText('default').insert(0, 'after ')
    await vi.waitFor(() => expect(onA.doc.getText('default').toString()).toMatch(/^after /), CONVERGED)
    expect(a.child.exitCode).toBeNull()
    expect(b.child.exitCode).toBeNull()
    expect(a.output() + b.output()).not.toMatch(/Unhandled|uncaught/i)
  })
})

describeEachDatabase('[multi-instance] starting without Redis', (databases) => {
  it('an instance starts and serves while Redis is down, and joins the others once it is up', async () => {
    const redis = await startTestRedis()
    await redis.kill()
    const database = await databases.create()
    const [a, b] = await startInstances(database, { redisUrl: redis.url })
    const owner = await registerUser(a, 'Owner')
    const { id } = await createDocument(b, owner)
    const onA = connectHocuspocus(a, id, { token: owner.accessToken })
    const onB = connectYWebsocket(b, id, { token: owner.accessToken })
    await Promise.all([onA.synced, onB.synced])
    onA.doc.getText('default').insert(0, 'A ')
    onB.doc.getText('default').insert(0, 'B ')

    await redis.restart()
    await vi.waitFor(() => {
      const [onAText, onBText] = [onA.doc.getText('default').toString(), onB.doc.getText('default').toString()]
      expect(onAText).toBe(onBText)
      expect(onAText).toContain('A ')
      expect(onAText).toContain('B ')
    }, CONVERGED)
    expect(a.child.exitCode).toBeNull()
    expect(b.child.exitCode).toBeNull()
  })
  it('while Redis is down, a removal made on A refuses the next connection on B (no remembered role)', async () => {
    const redis = await startTestRedis()
    const [a, b] = await startInstances(await databases.create(), { redisUrl: redis.url })
    const owner = await registerUser(a, 'Owner')
    const member = await registerUser(a, 'Member')
    const { id } = await createDocument(a, owner)
    expect((await api(a, 'PUT', `/documents/${id}/collaborators/${member.id}`, { token: owner.accessToken, body: { role: 'editor' } })).status).toBeLessThan(300)
    // B admits the member once: its role is remembered there.
    const first = connectHocuspocus(b, id, { token: member.accessToken })
    await first.synced
    first.destroy()

    await redis.kill()
    // A can't tell B: the control message is lost with Redis.
    expect((await api(a, 'DELETE', `/documents/${id}/collaborators/${member.id}`, { token: owner.accessToken })).status).toBe(204)
    const denied = new Promise<string>((resolve) => {
      const again = connectHocuspocus(b, id, { token: member.accessToken })
      again.provider.on('authenticationFailed', ({ reason }: { reason: string }) => resolve(reason))
    })
    expect(await denied).toBe('not-found')
  })
})
