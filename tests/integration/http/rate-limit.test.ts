import { expect, it } from 'vitest'
import { api, type ApiResponse, createDocument, createShareLink, registerUser } from '../../helpers/api.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { startTestServer } from '../../helpers/server.ts'

const LIMIT = 5

function expectRateLimited(response: ApiResponse, windowSeconds = 60) {
  expect(response.status).toBe(429)
  expect(response.body).toEqual({
    statusCode: 429,
    code: 'rate_limited',
    error: 'Too Many Requests',
    message: expect.stringMatching(/rate limit/i),
  })
  const retryAfter = Number(response.headers.get('retry-after'))
  expect(retryAfter).toBeGreaterThan(0)
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds)
}

describeEachDatabase('rate limits', (databases) => {
  it('gives each IP address RATE_LIMIT_PER_MINUTE requests, then 429 with Retry-After', async () => {
    const server = await startTestServer(await databases.create(), {
      RATE_LIMIT_PER_MINUTE: String(LIMIT),
    })
    const statuses: number[] = []
    for (let i = 0; i < LIMIT; i++) {
      const response = await api(server, 'GET', '/documents/no-such-document')
      statuses.push(response.status)
      expect(response.headers.get('x-ratelimit-remaining')).toBe(String(LIMIT - 1 - i))
    }
    expect(statuses.every((s) => s !== 429)).toBe(true)
    expectRateLimited(await api(server, 'GET', '/documents/no-such-document'))
    // A token that doesn't verify spends the same IP budget: made-up tokens buy no extra requests.
    expectRateLimited(await api(server, 'GET', '/me', { token: 'made-up-token' }))
    // Invalid input is counted and refused too: the limit applies before the body is validated.
    expectRateLimited(await api(server, 'POST', '/documents', { body: { title: 42 } }))
  })

  it('counts clients behind a trusted proxy by their forwarded address, and only then', async () => {
    for (const [trustProxy, separate] of [['127.0.0.1', true], ['false', false]] as const) {
      const server = await startTestServer(await databases.create(), {
        RATE_LIMIT_PER_MINUTE: String(LIMIT),
        TRUST_PROXY: trustProxy,
      })
      const from = (ip: string) => api(server, 'GET', '/documents/nope', { headers: { 'x-forwarded-for': ip } })
      for (let i = 0; i < LIMIT; i++) expect((await from('203.0.113.1')).status).not.toBe(429)
      expectRateLimited(await from('203.0.113.1'))
      // Another client behind the same proxy has its own budget only when the proxy is trusted.
      expect((await from('203.0.113.2')).status === 429, `TRUST_PROXY=${trustProxy}`).toBe(!separate)
    }
  })

  it('never limits health, readiness, metrics, the spec or the docs', async () => {
    const server = await startTestServer(await databases.create(), { RATE_LIMIT_PER_MINUTE: '1' })
    expect((await api(server, 'GET', '/documents/no-such-document')).status).not.toBe(429)
    expectRateLimited(await api(server, 'GET', '/documents/no-such-document'))
    for (let i = 0; i < 3; i++) {
      for (const path of ['//health', '//ready', '//metrics', '//openapi.json', '//docs', '//docs/json']) {
        const response = await api(server, 'GET', path)
        expect(response.status, path).not.toBe(429)
        expect(response.headers.get('x-ratelimit-limit'), path).toBeNull()
      }
    }
  })

  it('gives every signed-in user a budget of their own', async () => {
    const server = await startTestServer(await databases.create(), {
      RATE_LIMIT_PER_MINUTE: String(LIMIT),
    })
    const alice = await registerUser(server, 'Alice')
    const bob = await registerUser(server, 'Bob')

    for (let i = 0; i < LIMIT; i++) {
      expect((await api(server, 'GET', '/me', { token: alice.accessToken })).status).toBe(200)
    }
    expectRateLimited(await api(server, 'GET', '/me', { token: alice.accessToken }))

    // Same IP, different user: untouched by Alice's requests.
    for (let i = 0; i < LIMIT; i++) {
      const me = await api(server, 'GET', '/me', { token: bob.accessToken })
      expect(me).toMatchObject({ status: 200, body: { id: bob.id } })
    }
    expectRateLimited(await api(server, 'GET', '/me', { token: bob.accessToken }))

    // And anonymous requests from that IP still have theirs.
    expect((await api(server, 'GET', '/me')).status).toBe(401)
  })

  it('gives every share link a budget of its own, apart from its owner', async () => {
    const server = await startTestServer(await databases.create(), {
      RATE_LIMIT_PER_MINUTE: String(LIMIT),
    })
    const owner = await registerUser(server, 'Owner')
    const document = await createDocument(server, owner)
    const link = await createShareLink(server, owner, document.id, 'viewer')

    for (let i = 0; i < LIMIT; i++) {
      expect((await api(server, 'GET', `/documents/${document.id}`, { token: link.token })).status).toBe(200)
    }
    expectRateLimited(await api(server, 'GET', `/documents/${document.id}`, { token: link.token }))
    // The owner spent two requests (create, share) before the link spent its five.
    expect((await api(server, 'GET', `/documents/${document.id}`, { token: owner.accessToken })).status).toBe(200)
  })

  it('keeps the stricter per-route limit of the auth routes, counted apart from the API budget', async () => {
    const server = await startTestServer(await databases.create(), {
      RATE_LIMIT_PER_MINUTE: '100',
      AUTH_RATE_LIMIT_PER_MINUTE: '2',
    })
    const login = () =>
      api(server, 'POST', '/auth/login', { body: { email: 'nobody@example.test', password: 'wrong-password' } })
    expect((await login()).status).toBe(401)
    expect((await login()).status).toBe(401)
    expectRateLimited(await login())
    // The API budget is separate: the same IP may still call other routes.
    expect((await api(server, 'GET', '/documents/no-such-document')).status).not.toBe(429)
  })

  it('keys the auth routes by client address alone: an access token or a share link buys no new budget', async () => {
    const server = await startTestServer(await databases.create(), {
      RATE_LIMIT_PER_MINUTE: '100',
      AUTH_RATE_LIMIT_PER_MINUTE: '3',
    })
    const owner = await registerUser(server, 'Owner')
    const document = await createDocument(server, owner)
    const link = await createShareLink(server, owner, document.id, 'viewer')
    const routes: [string, unknown][] = [
      ['/auth/login', { email: 'nobody@example.test', password: 'wrong-password' }],
      ['/auth/refresh', { refreshToken: 'rt_not-a-real-token' }],
      ['/auth/logout', { refreshToken: 'rt_not-a-real-token' }],
      ['/auth/register', { email: 'not-an-email', password: 'long enough password', name: 'X' }],
    ]
    for (const [path, body] of routes) {
      const attempt = (token?: string) => api(server, 'POST', path, { body, token })
      let spent = 0
      while ((await attempt()).status !== 429) expect(++spent, path).toBeLessThanOrEqual(3)
      expectRateLimited(await attempt(owner.accessToken))
      expectRateLimited(await attempt(link.token))
    }
  })

  it('limits share-link creation per document, and only the owner spends that budget', async () => {
    const server = await startTestServer(await databases.create(), {
      RATE_LIMIT_PER_MINUTE: '100',
      SHARE_LINKS_PER_DOCUMENT_PER_HOUR: '3',
    })
    const owner = await registerUser(server, 'Owner')
    const stranger = await registerUser(server, 'Stranger')
    const first = await createDocument(server, owner)
    const second = await createDocument(server, owner)
    const create = (user: { accessToken: string }, documentId: string) =>
      api(server, 'POST', `/documents/${documentId}/share-links`, { token: user.accessToken, body: { role: 'viewer' } })

    // Someone who can't share the document can't use up its budget either.
    for (let i = 0; i < 5; i++) expect((await create(stranger, first.id)).status).toBe(404)
    for (let i = 0; i < 3; i++) expect((await create(owner, first.id)).status).toBe(201)
    expectRateLimited(await create(owner, first.id), 3600)
    expect(await server.database.db.selectFrom('share_links').where('document_id', '=', first.id).selectAll().execute()).toHaveLength(3)
    // Another document has a budget of its own.
    expect((await create(owner, second.id)).status).toBe(201)
  })
})
