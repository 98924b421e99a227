import { expect, it } from 'vitest'
import { api, createDocument, createShareLink, registerUser, share } from '../../helpers/api.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { startTestServer } from '../../helpers/server.ts'

describeEachDatabase('sharing', (databases) => {
  it('adds collaborators by id or email, changes roles, lists them with the owner first', async () => {
    const server = await startTestServer(await databases.create())
    const alice = await registerUser(server, 'Alice')
    const bob = await registerUser(server, 'Bob')
    const carol = await registerUser(server, 'Carol')
    await createDocument(server, alice, 'doc')
    const token = alice.accessToken

    const byId = await api(server, 'PUT', `/documents/doc/collaborators/${bob.id}`, { token, body: { role: 'viewer' } })
    expect(byId).toMatchObject({ status: 201, body: { userId: bob.id, role: 'viewer', name: 'Bob', email: bob.email } })
    const changed = await api(server, 'PUT', `/documents/doc/collaborators/${bob.id}`, { token, body: { role: 'editor' } })
    expect(changed).toMatchObject({ status: 200, body: { role: 'editor' } })
    const byEmail = await api(server, 'POST', '/documents/doc/collaborators', {
      token,
      body: { email: `  ${carol.email.toUpperCase()} `.trim(), role: 'viewer' },
    })
    expect(byEmail).toMatchObject({ status: 202, body: { email: carol.email, role: 'viewer', status: 'invited' } })

    const list = await api(server, 'GET', '/documents/doc/collaborators', { token: carol.accessToken })
    expect(list.body.items.map((c: { userId: string; role: string }) => [c.userId, c.role])).toEqual([
      [alice.id, 'owner'],
      [bob.id, 'editor'],
      [carol.id, 'viewer'],
    ])
    expect((await api(server, 'GET', '/documents/doc', { token: bob.accessToken })).body.role).toBe('editor')
  })

  it('a member may leave; the owner can be neither removed nor re-roled; unknown user ids are 404', async () => {
    const server = await startTestServer(await databases.create())
    const alice = await registerUser(server, 'Alice')
    const bob = await registerUser(server, 'Bob')
    await createDocument(server, alice, 'doc')
    await share(server, alice, 'doc', bob, 'viewer')

    expect((await api(server, 'DELETE', `/documents/doc/collaborators/${alice.id}`, { token: alice.accessToken })).status).toBe(409)
    expect(
      (await api(server, 'PUT', `/documents/doc/collaborators/${alice.id}`, { token: alice.accessToken, body: { role: 'viewer' } })).status,
    ).toBe(409)
    expect(
      (await api(server, 'PUT', '/documents/doc/collaborators/usr_nobody', { token: alice.accessToken, body: { role: 'viewer' } })).status,
    ).toBe(404)
    expect(
      (await api(server, 'POST', '/documents/doc/collaborators', { token: alice.accessToken, body: { email: alice.email, role: 'viewer' } }))
        .status,
    ).toBe(409)

    expect((await api(server, 'DELETE', `/documents/doc/collaborators/${bob.id}`, { token: bob.accessToken })).status).toBe(204)
    expect((await api(server, 'GET', '/documents/doc', { token: bob.accessToken })).status).toBe(404)
    expect((await api(server, 'DELETE', `/documents/doc/collaborators/${bob.id}`, { token: alice.accessToken })).status).toBe(404)
  })

  it('share links: token shown once and stored hashed, readable within their role, revocable, expiring', async () => {
    const server = await startTestServer(await databases.create())
    const alice = await registerUser(server, 'Alice')
    await createDocument(server, alice, 'doc', 'Linked')
    const token = alice.accessToken
    const created = await api(server, 'POST', '/documents/doc/share-links', { token, body: { role: 'viewer' } })
    expect(created).toMatchObject({ status: 201, body: { role: 'viewer', expiresAt: null } })
    expect(created.body.token).toMatch(/^shl_[A-Za-z0-9_-]{40,}$/)
    const stored = await server.database.db.selectFrom('share_links').selectAll().execute()
    expect(stored).toHaveLength(1)
    expect(JSON.stringify(stored)).not.toContain(created.body.token)
    const listed = await api(server, 'GET', '/documents/doc/share-links', { token })
    expect(listed.body.items).toEqual([{ id: created.body.id, role: 'viewer', expiresAt: null, createdAt: created.body.createdAt }])

    const link = created.body.token as string
    expect(await api(server, 'GET', '/documents/doc', { token: link })).toMatchObject({ status: 200, body: { title: 'Linked', role: 'viewer' } })
    expect((await api(server, 'GET', '/documents/doc/content', { token: link })).status).toBe(200)
    expect((await api(server, 'PATCH', '/documents/doc', { token: link, body: { title: 'x' } })).status).toBe(403)
    expect((await api(server, 'GET', '/documents', { token: link })).status).toBe(401)
    const other = await createDocument(server, alice, 'other')
    expect((await api(server, 'GET', `/documents/${other.id}`, { token: link })).status).toBe(404)

    expect((await api(server, 'DELETE', `/documents/doc/share-links/${created.body.id}`, { token })).status).toBe(204)
    expect((await api(server, 'GET', '/documents/doc', { token: link })).status).toBe(401)
    expect((await api(server, 'DELETE', `/documents/doc/share-links/${created.body.id}`, { token })).status).toBe(404)

    const soon = await createShareLink(server, alice, 'doc', 'editor', new Date(Date.now() + 300).toISOString())
    expect((await api(server, 'GET', '/documents/doc', { token: soon.token })).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect((await api(server, 'GET', '/documents/doc', { token: soon.token })).status).toBe(401)
  })

  it('bad input on every sharing body and parameter is a 400 and changes nothing', async () => {
    const server = await startTestServer(await databases.create())
    const alice = await registerUser(server, 'Alice')
    const bob = await registerUser(server, 'Bob')
    await createDocument(server, alice, 'doc')
    const token = alice.accessToken
    const cases: [string, string, unknown][] = [
      ['PUT', `/documents/doc/collaborators/${bob.id}`, { role: 'owner' }],
      ['PUT', `/documents/doc/collaborators/${bob.id}`, { role: 'admin' }],
      ['PUT', `/documents/doc/collaborators/${bob.id}`, { role: 1 }],
      ['PUT', `/documents/doc/collaborators/${bob.id}`, {}],
      ['PUT', `/documents/doc/collaborators/${bob.id}`, { role: 'viewer', extra: 1 }],
      ['PUT', `/documents/doc/collaborators/${'x'.repeat(200)}`, { role: 'viewer' }],
      ['PUT', '/documents/doc/collaborators/bad%20id', { role: 'viewer' }],
      ['POST', '/documents/doc/collaborators', { email: 'not-an-email', role: 'viewer' }],
      ['POST', '/documents/doc/collaborators', { email: `${'a'.repeat(400)}@example.test`, role: 'viewer' }],
      ['POST', '/documents/doc/collaborators', { email: bob.email, role: 'superuser' }],
      ['POST', '/documents/doc/collaborators', { email: [bob.email], role: 'viewer' }],
      ['POST', '/documents/doc/share-links', { role: 'owner' }],
      ['POST', '/documents/doc/share-links', { role: 'viewer', expiresAt: 'tomorrow' }],
      ['POST', '/documents/doc/share-links', { role: 'viewer', expiresAt: '2001-01-01T00:00:00Z' }],
      ['DELETE', '/documents/doc/share-links/bad%20id', undefined],
      ['DELETE', '/documents/doc/invitations/bad%20id', undefined],
      ['DELETE', `/documents/doc/invitations/${'x'.repeat(200)}`, undefined],
    ]
    for (const [method, path, body] of cases) {
      const response = await api(server, method, path, { token, body })
      expect(response.status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}`).toBe(400)
      expect(response.body).toMatchObject({ code: 'invalid_input' })
    }
    expect(await server.database.db.selectFrom('document_members').selectAll().execute()).toEqual([])
    expect(await server.database.db.selectFrom('share_links').selectAll().execute()).toEqual([])
    expect(await server.database.db.selectFrom('document_invitations').selectAll().execute()).toEqual([])
  })
})
