import { beforeAll, expect, it } from 'vitest'
import { api, createDocument, createShareLink, registerUser, share } from '../../helpers/api.ts'
import { createClerkTestIssuer, type ClerkTestIssuer } from '../../helpers/clerk.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { startTestServer, type TestServer } from '../../helpers/server.ts'

const invite = (server: TestServer, owner: { accessToken: string }, documentId: string, email: string, role = 'viewer') =>
  api(server, 'POST', `/documents/${documentId}/collaborators`, { token: owner.accessToken, body: { email, role } })

const collaborators = (server: TestServer, user: { accessToken: string }, documentId: string) =>
  api(server, 'GET', `/documents/${documentId}/collaborators`, { token: user.accessToken })

/** Signs up through the built-in provider with a chosen email. */
async function signUp(server: TestServer, email: string, name = 'Newcomer') {
  const response = await api(server, 'POST', '/auth/register', { body: { email, password: 'a good long password', name } })
  expect(response.status, JSON.stringify(response.body)).toBe(201)
  return { id: response.body.user.id as string, accessToken: response.body.accessToken as string }
}

let clerk: ClerkTestIssuer
beforeAll(async () => {
  clerk = await createClerkTestIssuer()
})

describeEachDatabase('invitations by email', (databases) => {
  it('answers an invitation for an unknown email exactly like one for a known email', async () => {
    const server = await startTestServer(await databases.create())
    const alice = await registerUser(server, 'Alice')
    const bob = await registerUser(server, 'Bob')
    await createDocument(server, alice, 'doc')

    const known = await invite(server, alice, 'doc', bob.email.toUpperCase())
    const unknown = await invite(server, alice, 'doc', 'Nobody.Yet@Example.test')
    expect(known.status).toBe(202)
    expect(unknown.status).toBe(known.status)
    expect(unknown.type).toBe(known.type)
    expect(known.body).toEqual({ email: bob.email, role: 'viewer', status: 'invited' })
    expect(unknown.body).toEqual({ email: 'nobody.yet@example.test', role: 'viewer', status: 'invited' })
    expect(JSON.stringify(known.body)).not.toContain(bob.id)
    expect(JSON.stringify(known.body)).not.toContain(bob.name)

    // The known user is a member at once; inviting again changes the role and answers the same way.
    expect(await api(server, 'GET', '/documents/doc', { token: bob.accessToken })).toMatchObject({ status: 200, body: { role: 'viewer' } })
    expect(await invite(server, alice, 'doc', bob.email, 'editor')).toMatchObject({
      status: 202,
      body: { email: bob.email, role: 'editor', status: 'invited' },
    })
    expect((await api(server, 'GET', '/documents/doc', { token: bob.accessToken })).body.role).toBe('editor')
  })

  it('keeps a pending invitation, lists it to the owner, and turns it into membership on sign-up', async () => {
    const server = await startTestServer(await databases.create())
    const alice = await registerUser(server, 'Alice')
    const bob = await registerUser(server, 'Bob')
    await createDocument(server, alice, 'doc')
    await createDocument(server, alice, 'other')
    await share(server, alice, 'doc', bob, 'viewer')

    expect((await invite(server, alice, 'doc', 'NewBie@Example.test', 'editor')).status).toBe(202)
    // Re-inviting updates the role of the one pending invitation.
    expect((await invite(server, alice, 'doc', 'newbie@example.test', 'viewer')).status).toBe(202)
    expect((await invite(server, alice, 'other', 'newbie@example.test', 'editor')).status).toBe(202)

    const listed = await collaborators(server, alice, 'doc')
    expect(listed.status).toBe(200)
    expect(listed.body.items.map((c: { userId: string }) => c.userId)).toEqual([alice.id, bob.id])
    expect(listed.body.invitations).toEqual([
      { id: expect.stringMatching(/^inv_[A-Za-z0-9_-]+$/), email: 'newbie@example.test', role: 'viewer', invitedAt: expect.any(String) },
    ])
    expect(new Date(listed.body.invitations[0].invitedAt).toISOString()).toBe(listed.body.invitations[0].invitedAt)
    // Members see who has joined, not whom the owner has asked.
    const asMember = await collaborators(server, bob, 'doc')
    expect(asMember.status).toBe(200)
    expect(asMember.body.invitations).toBeUndefined()

    const newbie = await signUp(server, ' NEWBIE@example.test ')
    expect(await api(server, 'GET', '/documents/doc', { token: newbie.accessToken })).toMatchObject({ status: 200, body: { role: 'viewer' } })
    expect(await api(server, 'GET', '/documents/other', { token: newbie.accessToken })).toMatchObject({ status: 200, body: { role: 'editor' } })
    const after = await collaborators(server, alice, 'doc')
    expect(after.body.invitations).toEqual([])
    expect(after.body.items.map((c: { userId: string; role: string }) => [c.userId, c.role])).toEqual([
      [alice.id, 'owner'],
      [bob.id, 'viewer'],
      [newbie.id, 'viewer'],
    ])
    expect(await server.database.db.selectFrom('document_invitations').selectAll().execute()).toEqual([])
  })

  it('revokes a pending invitation: it never becomes membership', async () => {
    const server = await startTestServer(await databases.create())
    const alice = await registerUser(server, 'Alice')
    const editor = await registerUser(server, 'Editor')
    await createDocument(server, alice, 'doc')
    await createDocument(server, alice, 'other')
    await share(server, alice, 'doc', editor, 'editor')
    await invite(server, alice, 'doc', 'gone@example.test')
    await invite(server, alice, 'other', 'kept@example.test')
    const [invitation] = (await collaborators(server, alice, 'doc')).body.invitations
    const [otherInvitation] = (await collaborators(server, alice, 'other')).body.invitations

    const revoke = (user: { accessToken: string }, documentId: string, id: string) =>
      api(server, 'DELETE', `/documents/${documentId}/invitations/${id}`, { token: user.accessToken })
    expect((await revoke(editor, 'doc', invitation.id)).status).toBe(403)
    // An invitation of another document is unknown here.
    expect((await revoke(alice, 'doc', otherInvitation.id)).status).toBe(404)
    expect((await revoke(alice, 'doc', 'inv_unknown')).status).toBe(404)
    expect((await revoke(alice, 'doc', invitation.id)).status).toBe(204)
    expect((await revoke(alice, 'doc', invitation.id)).status).toBe(404)
    expect((await collaborators(server, alice, 'doc')).body.invitations).toEqual([])

    const gone = await signUp(server, 'gone@example.test')
    expect((await api(server, 'GET', '/documents/doc', { token: gone.accessToken })).status).toBe(404)
    expect((await collaborators(server, alice, 'other')).body.invitations).toHaveLength(1)
  })

  it('only the owner invites; others get the usual answers and nothing is stored', async () => {
    const server = await startTestServer(await databases.create())
    const alice = await registerUser(server, 'Alice')
    const [editor, viewer, stranger] = await Promise.all(['Editor', 'Viewer', 'Stranger'].map((n) => registerUser(server, n)))
    await createDocument(server, alice, 'doc')
    await share(server, alice, 'doc', editor!, 'editor')
    await share(server, alice, 'doc', viewer!, 'viewer')
    const link = await createShareLink(server, alice, 'doc', 'editor')
    const cases: [string, { accessToken: string }, number][] = [
      ['editor', editor!, 403],
      ['viewer', viewer!, 403],
      ['editor link', { accessToken: link.token }, 403],
      ['stranger', stranger!, 404],
      ['no token', { accessToken: '' }, 401],
    ]
    for (const [who, user, status] of cases) {
      expect((await invite(server, user, 'doc', 'someone@example.test')).status, who).toBe(status)
      expect((await invite(server, user, 'doc', alice.email)).status, who).toBe(status)
    }
    expect(await server.database.db.selectFrom('document_invitations').selectAll().execute()).toEqual([])
  })

  it('limits invitations per inviter per hour, known and unknown emails alike', async () => {
    const server = await startTestServer(await databases.create(), { INVITATIONS_PER_HOUR: '3' })
    const alice = await registerUser(server, 'Alice')
    const bob = await registerUser(server, 'Bob')
    const carol = await registerUser(server, 'Carol')
    await createDocument(server, alice, 'doc')
    await createDocument(server, carol, 'carols')

    expect((await invite(server, alice, 'doc', bob.email)).status).toBe(202)
    expect((await invite(server, alice, 'doc', 'one@example.test')).status).toBe(202)
    expect((await invite(server, alice, 'doc', 'two@example.test')).status).toBe(202)
    for (const email of [carol.email, 'three@example.test']) {
      const limited = await invite(server, alice, 'doc', email)
      expect(limited.status, email).toBe(429)
      expect(limited.body).toMatchObject({ statusCode: 429, code: 'rate_limited' })
      const retryAfter = Number(limited.headers.get('retry-after'))
      expect(retryAfter).toBeGreaterThan(0)
      expect(retryAfter).toBeLessThanOrEqual(3600)
    }
    expect((await collaborators(server, alice, 'doc')).body.invitations).toHaveLength(2)
    // Another inviter has a budget of their own.
    expect((await invite(server, carol, 'carols', 'three@example.test')).status).toBe(202)
  })

  it('with Clerk, a pending invitation becomes membership on first sign-in, or once the email is known', async () => {
    const server = await startTestServer(await databases.create(), clerk.env)
    const owner = { accessToken: await clerk.mint({ sub: 'user_owner', claims: { email: 'owner@example.com', name: 'Owen' } }) }
    await createDocument(server, owner, 'doc')
    expect((await invite(server, owner, 'doc', 'First@Example.com')).status).toBe(202)
    expect((await invite(server, owner, 'doc', 'late@example.com', 'editor')).status).toBe(202)

    const first = await clerk.mint({ sub: 'user_first', claims: { email: 'first@example.com', name: 'Fay' } })
    expect(await api(server, 'GET', '/documents/doc', { token: first })).toMatchObject({ status: 200, body: { role: 'viewer' } })

    // Seen first without an email: nothing to match the invitation against yet.
    const anonymous = await clerk.mint({ sub: 'user_late' })
    expect((await api(server, 'GET', '/documents/doc', { token: anonymous })).status).toBe(404)
    const withEmail = await clerk.mint({ sub: 'user_late', claims: { email: 'Late@Example.com' } })
    expect(await api(server, 'GET', '/documents/doc', { token: withEmail })).toMatchObject({ status: 200, body: { role: 'editor' } })
    expect((await collaborators(server, owner, 'doc')).body.invitations).toEqual([])

    // A Clerk user the server already knows is added at once, with the same answer.
    expect(await invite(server, owner, 'doc', 'first@example.com', 'editor')).toMatchObject({
      status: 202,
      body: { email: 'first@example.com', role: 'editor', status: 'invited' },
    })
    expect((await api(server, 'GET', '/documents/doc', { token: first })).body.role).toBe('editor')
  })
})
