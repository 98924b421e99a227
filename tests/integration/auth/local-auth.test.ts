import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose'
import { expect, it } from 'vitest'
import {
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  ACCESS_TOKEN_TYPE,
} from '../../../server/auth/local/access-tokens.ts'
import { api } from '../../helpers/api.ts'
import { defer } from '../../helpers/cleanup.ts'
import { connectHocuspocus } from '../../helpers/clients.ts'
import { describeEachDatabase, type TestDatabases } from '../../helpers/databases.ts'
import { type ConfigOverrides, startTestServer, type TestServer } from '../../helpers/server.ts'

const SECRET = 'test-secret-that-is-long-enough-0123456789'

/** A fresh data folder, removed after the test. */
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'collab-auth-'))
  defer(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

// Every test here signs in many times from one address; the per-route limit has its own test.
async function startAuthServer(databases: TestDatabases, overrides: ConfigOverrides = {}) {
  return startTestServer(await databases.create(), {
    DATA_DIR: dataDir(),
    AUTH_RATE_LIMIT_PER_MINUTE: '1000',
    ...overrides,
  })
}

const alice = { email: 'alice@example.com', password: 'correct horse battery', name: 'Alice' }

async function register(server: TestServer, body: object = alice) {
  const response = await api(server, 'POST', '/auth/register', { body })
  expect(response.status, JSON.stringify(response.body)).toBe(201)
  return response.body as { user: { id: string }; accessToken: string; refreshToken: string; expiresIn: number }
}

const me = (server: TestServer, token: string) => api(server, 'GET', '/me', { token })
const refresh = (server: TestServer, refreshToken: string) =>
  api(server, 'POST', '/auth/refresh', { body: { refreshToken } })

describeEachDatabase('built-in accounts', (databases) => {
  it('registers, signs in and answers /me with the access token', async () => {
    const server = await startAuthServer(databases)
    const created = await api(server, 'POST', '/auth/register', {
      body: { email: '  Alice@Example.COM ', password: alice.password, name: '  Alice  ' },
    })
    expect(created.status).toBe(201)
    const { user, accessToken, refreshToken, expiresIn } = created.body
    expect(user).toEqual({ id: expect.stringMatching(/^usr_[A-Za-z0-9_-]+$/), email: 'alice@example.com', name: 'Alice' })
    expect(user.id.length).toBeLessThanOrEqual(128)
    expect(refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/)
    expect(expiresIn).toBe(900)

    // An HS256 JWT naming the user, living ACCESS_TOKEN_TTL_SECONDS.
    expect(decodeProtectedHeader(accessToken)).toEqual({ alg: 'HS256', typ: ACCESS_TOKEN_TYPE })
    const claims = decodeJwt(accessToken)
    expect(claims).toMatchObject({ sub: user.id, iss: ACCESS_TOKEN_ISSUER, aud: ACCESS_TOKEN_AUDIENCE })
    expect(claims.exp! - claims.iat!).toBe(900)
    expect(claims.jti).toEqual(expect.any(String))

    expect(await me(server, accessToken)).toMatchObject({ status: 200, body: user })

    const login = await api(server, 'POST', '/auth/login', {
      body: { email: 'ALICE@example.com ', password: alice.password },
    })
    expect(login.status).toBe(200)
    expect(login.body).toMatchObject({ user, expiresIn: 900 })
    expect(login.body.refreshToken).not.toBe(refreshToken)
    expect(await me(server, login.body.accessToken)).toMatchObject({ status: 200, body: user })

    // Only hashes are stored: neither the password nor the refresh tokens appear in the database.
    const row = await server.database.db.selectFrom('users').selectAll().executeTakeFirstOrThrow()
    expect(row.password_hash).toMatch(/^scrypt\$/)
    expect(row.password_hash).not.toContain(alice.password)
    const tokens = await server.database.db.selectFrom('refresh_tokens').select('token_hash').execute()
    expect(tokens).toHaveLength(2)
    for (const { token_hash } of tokens) {
      expect(token_hash).toMatch(/^[0-9a-f]{64}$/)
      expect([refreshToken, login.body.refreshToken]).not.toContain(token_hash)
    }
  })

  it('answers a wrong password and an unknown email identically', async () => {
    const server = await startAuthServer(databases)
    await register(server)
    const wrongPassword = await api(server, 'POST', '/auth/login', {
      body: { email: alice.email, password: 'not the password' },
    })
    const unknownEmail = await api(server, 'POST', '/auth/login', {
      body: { email: 'nobody@example.com', password: 'not the password' },
    })
    expect(wrongPassword.status).toBe(401)
    expect(wrongPassword.body).toEqual({
      statusCode: 401,
      code: 'unauthorized',
      error: 'Unauthorized',
      message: 'Invalid email or password',
    })
    expect(unknownEmail.status).toBe(wrongPassword.status)
    expect(unknownEmail.body).toEqual(wrongPassword.body)
    expect(unknownEmail.type).toBe(wrongPassword.type)
  })

  it('refuses a taken email, whatever its case and surrounding spaces', async () => {
    const server = await startAuthServer(databases)
    await register(server)
    for (const email of [alice.email, 'ALICE@EXAMPLE.COM', '  Alice@example.com\t']) {
      const again = await api(server, 'POST', '/auth/register', { body: { ...alice, email, name: 'Mallory' } })
      expect(again.status, email).toBe(409)
      expect(again.body).toMatchObject({ statusCode: 409, code: 'conflict', error: 'Conflict' })
    }
    const users = await server.database.db.selectFrom('users').select(['email', 'name']).execute()
    expect(users).toEqual([{ email: alice.email, name: 'Alice' }])
  })

  it('answers 400 with details for bad registrations and stores nothing', async () => {
    const server = await startAuthServer(databases)
    const bad: [string, unknown][] = [
      ['short password', { ...alice, password: 'seven77' }],
      ['long password', { ...alice, password: 'x'.repeat(1025) }],
      ['bad email', { ...alice, email: 'not-an-email' }],
      ['email without domain', { ...alice, email: 'alice@' }],
      ['email with spaces inside', { ...alice, email: 'al ice@example.com' }],
      ['long email', { ...alice, email: `${'a'.repeat(64)}@${'b'.repeat(250)}.${'c'.repeat(10)}` }],
      ['blank name', { ...alice, name: '   ' }],
      ['long name', { ...alice, name: 'n'.repeat(256) }],
      ['missing name', { email: alice.email, password: alice.password }],
      ['missing password', { email: alice.email, name: 'Alice' }],
      ['number as password', { ...alice, password: 123456789 }],
      ['extra field', { ...alice, admin: true }],
      ['array body', [alice]],
    ]
    for (const [what, body] of bad) {
      const response = await api(server, 'POST', '/auth/register', { body })
      expect(response.status, what).toBe(400)
      expect(response.body, what).toMatchObject({ statusCode: 400, code: 'invalid_input', error: 'Bad Request' })
      expect(response.body.details.length, what).toBeGreaterThan(0)
    }
    const badLogin = await api(server, 'POST', '/auth/login', { body: { email: 'nope', password: 'whatever1' } })
    expect(badLogin).toMatchObject({ status: 400, body: { code: 'invalid_input' } })
    const badRefresh = await api(server, 'POST', '/auth/refresh', { body: {} })
    expect(badRefresh).toMatchObject({ status: 400, body: { code: 'invalid_input' } })
    expect(await server.database.db.selectFrom('users').select('id').execute()).toEqual([])
  })

  it('rotates refresh tokens: the old one dies, the new one works', async () => {
    const server = await startAuthServer(databases)
    const session = await register(server)
    const first = await refresh(server, session.refreshToken)
    expect(first.status).toBe(200)
    expect(first.body).toMatchObject({ user: session.user, expiresIn: 900 })
    expect(first.body.refreshToken).not.toBe(session.refreshToken)
    expect(await me(server, first.body.accessToken)).toMatchObject({ status: 200, body: session.user })

    const second = await refresh(server, first.body.refreshToken)
    expect(second.status).toBe(200)
    expect(second.body.refreshToken).not.toBe(first.body.refreshToken)
  })

  it('revokes the whole family when a rotated refresh token is presented again', async () => {
    const server = await startAuthServer(databases)
    const session = await register(server)
    const otherDevice = await api(server, 'POST', '/auth/login', { body: { email: alice.email, password: alice.password } })
    const rotated = await refresh(server, session.refreshToken)
    const newest = await refresh(server, rotated.body.refreshToken)
    expect(newest.status).toBe(200)

    // The first token was already rotated: someone else holds a copy.
    const replay = await refresh(server, session.refreshToken)
    expect(replay.status).toBe(401)
    expect(replay.body).toMatchObject({ statusCode: 401, code: 'unauthorized' })
    // So even the newest token of that sign-in is dead now...
    expect((await refresh(server, newest.body.refreshToken)).status).toBe(401)
    // ...while another sign-in of the same user is untouched.
    expect((await refresh(server, otherDevice.body.refreshToken)).status).toBe(200)

    const family = await server.database.db
      .selectFrom('refresh_tokens')
      .select(['family_id', 'revoked_at'])
      .where('user_id', '=', session.user.id)
      .execute()
    const revoked = family.filter((row) => row.revoked_at !== null)
    expect(revoked).toHaveLength(3)
    expect(new Set(revoked.map((row) => row.family_id)).size).toBe(1)
  })

  it('lets only one of two simultaneous refreshes with the same token succeed', async () => {
    const server = await startAuthServer(databases)
    const session = await register(server)
    const results = await Promise.all([1, 2, 3].map(() => refresh(server, session.refreshToken)))
    const statuses = results.map((r) => r.status).sort()
    expect(statuses).toEqual([200, 401, 401])
    // The losers count as a reuse, so the winner's new token was revoked with its family.
    const winner = results.find((r) => r.status === 200)!
    expect((await refresh(server, winner.body.refreshToken)).status).toBe(401)
  })

  it('refuses unknown, malformed and expired refresh tokens', async () => {
    const server = await startAuthServer(databases)
    const session = await register(server)
    for (const token of ['rt_unknownunknownunknownunknownunknownunknown0', 'garbage', session.accessToken]) {
      expect(await refresh(server, token)).toMatchObject({ status: 401, body: { code: 'unauthorized' } })
    }
    await server.database.db.updateTable('refresh_tokens').set({ expires_at: Date.now() - 1000 }).execute()
    expect(await refresh(server, session.refreshToken)).toMatchObject({ status: 401, body: { code: 'unauthorized' } })
  })

  it('logs out: the refresh token and its family stop working; logout is always 204', async () => {
    const server = await startAuthServer(databases)
    const session = await register(server)
    const rotated = await refresh(server, session.refreshToken)
    const logout = await api(server, 'POST', '/auth/logout', { body: { refreshToken: rotated.body.refreshToken } })
    expect(logout.status).toBe(204)
    expect(logout.body.length).toBe(0)
    expect((await refresh(server, rotated.body.refreshToken)).status).toBe(401)

    // Again, with an unknown token, or with a garbage one: nothing to learn from the answer.
    for (const refreshToken of [rotated.body.refreshToken, session.refreshToken, 'rt_nope', 'nope']) {
      expect((await api(server, 'POST', '/auth/logout', { body: { refreshToken } })).status).toBe(204)
    }
    expect((await api(server, 'POST', '/auth/logout', { body: {} })).status).toBe(400)
  })

  it('refuses forged, tampered, foreign and expired access tokens on /me', async () => {
    const server = await startAuthServer(databases, { AUTH_SECRET: SECRET })
    const session = await register(server)
    const key = new TextEncoder().encode(SECRET)
    const sign = (claims: { sub?: string; iss?: string; aud?: string; exp?: number; iat?: number }, secret = key) => {
      const now = Math.floor(Date.now() / 1000)
      let jwt = new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: ACCESS_TOKEN_TYPE })
        .setIssuer(claims.iss ?? ACCESS_TOKEN_ISSUER)
        .setAudience(claims.aud ?? ACCESS_TOKEN_AUDIENCE)
        .setIssuedAt(claims.iat ?? now)
        .setExpirationTime(claims.exp ?? now + 600)
        .setJti('test')
      if (claims.sub !== '') jwt = jwt.setSubject(claims.sub ?? session.user.id)
      return jwt.sign(secret)
    }
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const [header, payload, signature] = session.accessToken.split('.')

    // Control: a token we sign ourselves with the server's secret is accepted.
    expect(await me(server, await sign({}))).toMatchObject({ status: 200, body: session.user })

    const now = Math.floor(Date.now() / 1000)
    const refused: [string, string, string][] = [
      ['alg none', `${b64({ alg: 'none', typ: ACCESS_TOKEN_TYPE })}.${payload}.`, 'token-invalid'],
      ['alg none with signature', `${b64({ alg: 'none' })}.${payload}.${signature}`, 'token-invalid'],
      [
        'tampered payload',
        `${header}.${b64({ ...decodeJwt(session.accessToken), sub: 'usr_someone_else' })}.${signature}`,
        'token-invalid',
      ],
      ['wrong secret', await sign({}, new TextEncoder().encode('another-secret-another-secret-0123456789')), 'token-invalid'],
      ['expired', await sign({ iat: now - 3600, exp: now - 60 }), 'token-expired'],
      ['foreign issuer', await sign({ iss: 'https://evil.example' }), 'token-invalid'],
      ['foreign audience', await sign({ aud: 'another-service' }), 'token-invalid'],
      ['no subject', await sign({ sub: '' }), 'token-invalid'],
      ['not a JWT', 'definitely-not-a-jwt', 'token-invalid'],
    ]
    for (const [what, token, reason] of refused) {
      const response = await me(server, token)
      expect(response.status, what).toBe(401)
      expect(response.body, what).toMatchObject({ statusCode: 401, code: 'unauthorized' })
      expect(response.body.message, what).toContain(reason)
    }
    // A well-formed token naming an account that does not exist is refused too.
    expect((await me(server, await sign({ sub: 'usr_nobody' }))).status).toBe(401)
    expect((await api(server, 'GET', '/me')).status).toBe(401)
  })

  it('keeps the generated secret in the data folder, so tokens survive a restart', async () => {
    const database = await databases.create()
    const dir = join(dataDir(), 'nested', 'data')
    const first = await startTestServer(database, { DATA_DIR: dir, AUTH_RATE_LIMIT_PER_MINUTE: '1000' })
    const session = await register(first)
    const file = join(dir, 'auth-secret')
    const secret = readFileSync(file, 'utf8').trim()
    expect(secret).toMatch(/^[A-Za-z0-9_-]{64}$/)
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600)
    await first.close()

    const second = await startTestServer(database, { DATA_DIR: dir, AUTH_RATE_LIMIT_PER_MINUTE: '1000' })
    expect(readFileSync(file, 'utf8').trim()).toBe(secret)
    expect(await me(second, session.accessToken)).toMatchObject({ status: 200, body: session.user })
    expect((await refresh(second, session.refreshToken)).status).toBe(200)
    await second.close()

    // The file's text works as AUTH_SECRET too, so a deployment can adopt it.
    const adopted = await startTestServer(database, { DATA_DIR: dataDir(), AUTH_SECRET: secret })
    expect((await me(adopted, session.accessToken)).status).toBe(200)
    await adopted.close()

    // Another data folder means another secret: the token is refused there.
    const elsewhere = await startTestServer(database, { DATA_DIR: dataDir() })
    expect(await me(elsewhere, session.accessToken)).toMatchObject({ status: 401, body: { code: 'unauthorized' } })
  })

  it('gives instances that start at once on one data folder the same secret', async () => {
    const database = await databases.create()
    const dir = dataDir()
    const servers = await Promise.all(
      [1, 2, 3].map(() => startTestServer(database, { DATA_DIR: dir, AUTH_RATE_LIMIT_PER_MINUTE: '1000' })),
    )
    const session = await register(servers[0]!)
    for (const server of servers) {
      expect(await me(server, session.accessToken)).toMatchObject({ status: 200, body: session.user })
    }
  })

  it('authenticates a WebSocket with the access token', async () => {
    const server = await startAuthServer(databases)
    const session = await register(server)
    const created = await api(server, 'POST', '/documents', {
      token: session.accessToken,
      body: { id: 'alice-notes', title: 'Notes' },
    })
    expect(created.status).toBe(201)
    const client = connectHocuspocus(server, 'alice-notes', { token: session.accessToken })
    await client.synced
    client.doc.getText('default').insert(0, 'hello')
    await expect
      .poll(() => server.collab.hocuspocus.documents.get('alice-notes')?.getText('default').toString())
      .toBe('hello')
  })

  it('limits sign-in attempts per minute more strictly than the rest of the API', async () => {
    const server = await startAuthServer(databases, { AUTH_RATE_LIMIT_PER_MINUTE: '3' })
    const attempt = () => api(server, 'POST', '/auth/login', { body: { email: alice.email, password: 'wrong-password' } })
    for (let i = 0; i < 3; i++) expect((await attempt()).status).toBe(401)
    const limited = await attempt()
    expect(limited.status).toBe(429)
    expect(limited.body).toMatchObject({ statusCode: 429, code: 'rate_limited' })
  })

  it('refuses an email after LOGIN_FAILURES_PER_EMAIL failed sign-ins, even with the right password; other emails still sign in', async () => {
    const server = await startAuthServer(databases, { LOGIN_FAILURES_PER_EMAIL: '10', LOGIN_FAILURE_WINDOW_SECONDS: '900' })
    await register(server)
    const bob = { email: 'bob@example.com', password: 'another good password', name: 'Bob' }
    await register(server, bob)
    const login = (email: string, password: string) => api(server, 'POST', '/auth/login', { body: { email, password } })

    for (let i = 0; i < 10; i++) expect((await login(alice.email, `wrong-${i}`)).status).toBe(401)
    // Spelled differently, the same account: the count is per normalised email.
    for (const email of [alice.email, ' ALICE@Example.com ']) {
      const limited = await login(email, alice.password)
      expect(limited.status, email).toBe(429)
      expect(limited.body).toMatchObject({ statusCode: 429, code: 'rate_limited', error: 'Too Many Requests' })
      const retryAfter = Number(limited.headers.get('retry-after'))
      expect(retryAfter).toBeGreaterThan(0)
      expect(retryAfter).toBeLessThanOrEqual(900)
    }
    expect((await login(bob.email, bob.password)).status).toBe(200)

    // An unknown email is counted the same way, so the 429 says nothing about which accounts exist.
    for (let i = 0; i < 10; i++) expect((await login('nobody@example.com', `wrong-${i}`)).status).toBe(401)
    expect((await login('nobody@example.com', 'wrong')).status).toBe(429)
  })

  it('does not let a successful sign-in wipe the failures counted for that email', async () => {
    const server = await startAuthServer(databases, { LOGIN_FAILURES_PER_EMAIL: '3' })
    await register(server)
    const login = (password: string) => api(server, 'POST', '/auth/login', { body: { email: alice.email, password } })
    expect((await login('wrong-1')).status).toBe(401)
    expect((await login('wrong-2')).status).toBe(401)
    expect((await login(alice.password)).status).toBe(200)
    expect((await login('wrong-3')).status).toBe(401)
    expect((await login(alice.password)).status).toBe(429)
  })

  it('counts concurrent guesses before checking them, so a burst gets no more than the limit', async () => {
    const server = await startAuthServer(databases, { LOGIN_FAILURES_PER_EMAIL: '3' })
    await register(server)
    const burst = await Promise.all(
      Array.from({ length: 8 }, (_, i) => api(server, 'POST', '/auth/login', { body: { email: alice.email, password: `wrong-${i}` } })),
    )
    const statuses = burst.map((r) => r.status).sort()
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429])
  })

  it('lets an email sign in again once its failure window has passed', async () => {
    const server = await startAuthServer(databases, { LOGIN_FAILURES_PER_EMAIL: '2', LOGIN_FAILURE_WINDOW_SECONDS: '1' })
    await register(server)
    const login = (password: string) => api(server, 'POST', '/auth/login', { body: { email: alice.email, password } })
    expect((await login('wrong-1')).status).toBe(401)
    expect((await login('wrong-2')).status).toBe(401)
    expect((await login(alice.password)).status).toBe(429)
    await expect.poll(async () => (await login(alice.password)).status, { timeout: 5_000, interval: 200 }).toBe(200)
  })
})
