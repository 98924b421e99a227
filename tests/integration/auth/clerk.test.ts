import { exportSPKI, generateKeyPair, SignJWT } from 'jose'
import diagnostics from 'node:diagnostics_channel'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { api, createDocument } from '../../helpers/api.ts'
import { defer } from '../../helpers/cleanup.ts'
import { createClerkTestIssuer, tamperPayload, type ClerkTestIssuer } from '../../helpers/clerk.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase, type TestDatabases } from '../../helpers/databases.ts'
import { startTestServer } from '../../helpers/server.ts'

// Clerk mode must work with no network: record every HTTP request `fetch` makes (Clerk's SDK uses
// it for its Backend API and JWKS) to anywhere but this machine.
const outbound: string[] = []
const recordOutbound = (message: unknown) => {
  const { origin, path } = (message as { request: { origin: string; path: string } }).request
  if (!/^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(origin)) outbound.push(`${origin}${path}`)
}
beforeAll(() => diagnostics.subscribe('undici:request:create', recordOutbound))
afterAll(() => {
  diagnostics.unsubscribe('undici:request:create', recordOutbound)
  expect(outbound).toEqual([])
})

let clerk: ClerkTestIssuer
beforeAll(async () => {
  clerk = await createClerkTestIssuer()
})

async function startClerkServer(databases: TestDatabases, overrides: Record<string, string> = {}) {
  return startTestServer(await databases.create(), { ...clerk.env, ...overrides })
}

const aliceClaims = { email: 'Alice@Example.com', name: 'Alice Liddell' }
// Issued two minutes ago, expired one minute ago: well past Clerk's 5 s clock skew allowance.
const EXPIRED = { issuedAt: -120, notBefore: -120, expiresIn: -60 }

describeEachDatabase('Clerk auth', (databases) => {
  it('accepts a valid session token on REST and mirrors the user from its claims', async () => {
    const server = await startClerkServer(databases)
    const token = await clerk.mint({ sub: 'user_alice', claims: aliceClaims })
    const me = await api(server, 'GET', '/me', { token })
    const alice = { id: 'user_alice', email: 'alice@example.com', name: 'Alice Liddell' }
    expect(me).toMatchObject({ status: 200, body: alice })
    const users = () => server.database.db.selectFrom('users').select(['id', 'email', 'name', 'password_hash']).execute()
    expect(await users()).toEqual([{ ...alice, password_hash: null }])

    // A later token with a changed name updates the mirror; the same user is not inserted twice.
    const renamed = await clerk.mint({ sub: 'user_alice', claims: { ...aliceClaims, name: 'Alice L.' } })
    expect((await api(server, 'GET', '/me', { token: renamed })).body).toMatchObject({ name: 'Alice L.' })
    expect(await users()).toEqual([{ ...alice, name: 'Alice L.', password_hash: null }])
  })

  it('reads email and name from the common custom-claim spellings, and copes without them', async () => {
    const server = await startClerkServer(databases)
    type Case = [sub: string, claims: Record<string, unknown>, email: string | null, name: string]
    const cases: Case[] = [
      ['user_snake', { primary_email: 'snake@example.com', first_name: 'Sam', last_name: 'Snake' }, 'snake@example.com', 'Sam Snake'],
      ['user_camel', { primaryEmail: 'camel@example.com', firstName: 'Cam' }, 'camel@example.com', 'Cam'],
      ['user_full', { email_address: 'full@example.com', full_name: 'Fay Full' }, 'full@example.com', 'Fay Full'],
      ['user_oidc', { given_name: 'Olga', family_name: 'Oidc' }, null, 'Olga Oidc'],
      // Template placeholders for absent values come through as empty strings or null.
      ['user_bare', { email: '', name: null }, null, 'user_bare'],
    ]
    for (const [sub, claims, email, name] of cases) {
      const me = await api(server, 'GET', '/me', { token: await clerk.mint({ sub, claims }) })
      expect(me, sub).toMatchObject({ status: 200, body: { id: sub, email, name } })
    }
  })

  it('refuses bad tokens with 401 and the reason, and answers 401 without one', async () => {
    const server = await startClerkServer(databases)
    const valid = await clerk.mint({ sub: 'user_alice' })
    const { privateKey: otherKey } = await generateKeyPair('RS256', { modulusLength: 2048 })
    const now = Math.floor(Date.now() / 1000)
    const otherIssuer = await new SignJWT({ sid: 'sess_x', azp: 'http://localhost:5173' })
      .setProtectedHeader({ alg: 'RS256', kid: 'ins_test' })
      .setSubject('user_alice')
      .setIssuedAt(now - 10)
      .setNotBefore(now - 10)
      .setExpirationTime(now + 60)
      .sign(otherKey)
    const refused: [string, string, string][] = [
      ['expired', await clerk.mint({ sub: 'user_alice', ...EXPIRED }), 'token-expired'],
      ['not yet valid', await clerk.mint({ sub: 'user_alice', notBefore: 60 }), 'token-not-active-yet'],
      ['tampered payload', tamperPayload(valid, { sub: 'user_mallory' }), 'token-invalid-signature'],
      ['signed by another key', otherIssuer, 'token-invalid-signature'],
      ['for another frontend', await clerk.mint({ azp: 'https://evil.example' }), 'token-invalid-authorized-parties'],
      // A session that must still finish a step (e.g. choose an organisation) is not signed in.
      ['a pending session', await clerk.mint({ sub: 'user_alice', claims: { sts: 'pending' } }), 'session-pending'],
      ['not a JWT', 'not-a-token', 'token-invalid'],
      // Clerk would verify this by calling its Backend API; it never gets to see it.
      ['a machine token', 'mt_0123456789abcdef', 'token-type-mismatch'],
    ]
    for (const [what, token, reason] of refused) {
      const response = await api(server, 'GET', '/me', { token })
      expect(response.status, what).toBe(401)
      const message = `Invalid credentials: ${reason}`
      expect(response.body, what).toMatchObject({ statusCode: 401, code: 'unauthorized', message })
    }
    expect(await api(server, 'GET', '/me')).toMatchObject({
      status: 401,
      body: { code: 'unauthorized', message: 'Authentication required' },
    })
    expect(await server.database.db.selectFrom('users').select('id').execute()).toEqual([])
    expect(outbound).toEqual([])
  })

  it('never redirects a browser navigation to Clerk, and ignores session cookies', async () => {
    const server = await startClerkServer(databases)
    const expired = await clerk.mint(EXPIRED)
    const valid = await clerk.mint()
    const sessionCookies = `__session=${valid}; __client_uat=1; __clerk_db_jwt=dvb_test`
    const navigation = { 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate', accept: 'text/html,*/*' }
    const cases: [string, Record<string, string>, string][] = [
      // A development instance answers these with a 307 to its handshake endpoint.
      ['no token', navigation, 'Authentication required'],
      ['no token, accept html only', { accept: 'text/html' }, 'Authentication required'],
      ['expired token', { ...navigation, authorization: `Bearer ${expired}` }, 'Invalid credentials: token-expired'],
      // Bearer tokens only: a cookie session Clerk itself would accept is not a credential here.
      ['session cookie', { ...navigation, cookie: sessionCookies }, 'Authentication required'],
    ]
    for (const [what, headers, message] of cases) {
      const response = await fetch(`${server.url}/api/v1/me`, { headers, redirect: 'manual' })
      expect(response.status, what).toBe(401)
      expect(response.headers.get('location'), what).toBeNull()
      expect(await response.json(), what).toMatchObject({ message })
    }
    const signedIn = await fetch(`${server.url}/api/v1/me`, {
      headers: { ...navigation, authorization: `Bearer ${valid}` },
      redirect: 'manual',
    })
    expect(signedIn.status).toBe(200)
    // Routes that need no caller are unaffected by Clerk.
    const health = await fetch(`${server.url}/health`, { headers: navigation, redirect: 'manual' })
    expect(health.status).toBe(200)
  })

  it('accepts a PEM whose newlines arrive as literal \\n sequences', async () => {
    const escaped = clerk.publicKeyPem.trim().replace(/\n/g, '\\n')
    expect(escaped).not.toContain('\n')
    const server = await startClerkServer(databases, { CLERK_JWT_KEY: escaped })
    const token = await clerk.mint({ sub: 'user_escaped' })
    expect(await api(server, 'GET', '/me', { token })).toMatchObject({ status: 200, body: { id: 'user_escaped' } })
  })

  it('refuses to start with a JWT key Clerk cannot read', async () => {
    // Clerk's SDK would accept these and then fail every token as `token-invalid-signature`.
    const { publicKey: rsa4096 } = await generateKeyPair('RS256', { extractable: true, modulusLength: 4096 })
    const { publicKey: ec } = await generateKeyPair('ES256', { extractable: true })
    for (const key of [await exportSPKI(rsa4096), await exportSPKI(ec), 'not a key']) {
      await expect(startClerkServer(databases, { CLERK_JWT_KEY: key })).rejects.toThrow(/CLERK_JWT_KEY: must be/)
    }
  })

  it('has no built-in auth routes', async () => {
    const server = await startClerkServer(databases)
    const body = { email: 'alice@example.com', password: 'correct horse battery', name: 'Alice' }
    for (const path of ['/auth/register', '/auth/login', '/auth/refresh', '/auth/logout']) {
      const response = await api(server, 'POST', path, { body })
      expect(response, path).toMatchObject({ status: 404, body: { code: 'not_found' } })
    }
  })

  it('opens a document the user owns on both socket paths with a valid token', async () => {
    const server = await startClerkServer(databases)
    const token = await clerk.mint({ sub: 'user_owner', claims: { name: 'Owner' } })
    const document = await createDocument(server, { accessToken: token }, 'clerk-doc')

    const collab = connectHocuspocus(server, document.id, { token })
    await collab.synced
    collab.doc.getText('default').insert(0, 'from collab')
    const yjs = connectYWebsocket(server, document.id, { token })
    await yjs.synced
    await expect.poll(() => yjs.doc.getText('default').toString()).toBe('from collab')
    yjs.doc.getText('default').insert(0, 'yjs + ')
    await expect.poll(() => collab.doc.getText('default').toString()).toBe('yjs + from collab')
  })

  it('refuses an expired token on both socket paths', async () => {
    const server = await startClerkServer(databases)
    const token = await clerk.mint({ sub: 'user_owner' })
    await createDocument(server, { accessToken: token }, 'clerk-doc')
    const expired = await clerk.mint({ sub: 'user_owner', ...EXPIRED })

    const collab = connectHocuspocus(server, 'clerk-doc', { token: expired })
    const reason = await new Promise<string>((resolve) =>
      collab.provider.on('authenticationFailed', ({ reason }: { reason: string }) => resolve(reason)),
    )
    expect(reason).toBe('unauthorized:token-expired')

    const yjs = connectYWebsocket(server, 'clerk-doc', { token: expired })
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      yjs.provider.on('connection-close', (event: { code: number; reason: string } | null) =>
        resolve({ code: event?.code ?? 0, reason: event?.reason ?? '' }),
      ),
    )
    expect(closed).toEqual({ code: 4401, reason: 'unauthorized:token-expired' })
    expect(await server.database.db.selectFrom('document_updates').select('seq').execute()).toEqual([])
  })

  it('completes a profile the token lacks from the Backend API, off the request path', async () => {
    const issuer = await createClerkTestIssuer()
    const requests: string[] = []
    // A stand-in for Clerk's Backend API on loopback, answering GET /v1/users/:id like Clerk does.
    const backend = createServer((req, res) => {
      requests.push(`${req.method} ${req.url} ${req.headers.authorization?.startsWith('Bearer sk_test_') ? 'auth' : 'no-auth'}`)
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({
          object: 'user',
          id: 'user_profile',
          first_name: 'Grace',
          last_name: 'Hopper',
          username: null,
          primary_email_address_id: 'idn_1',
          email_addresses: [{ id: 'idn_1', object: 'email_address', email_address: 'grace@example.test', verification: null, linked_to: [] }],
          phone_numbers: [],
          web3_wallets: [],
          external_accounts: [],
        }),
      )
    })
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve))
    defer(() => new Promise((resolve) => backend.close(resolve)))
    const { port } = backend.address() as AddressInfo
    const server = await startTestServer(await databases.create(), {
      ...issuer.env,
      CLERK_FETCH_PROFILES: 'true',
      CLERK_API_URL: `http://127.0.0.1:${port}`,
    })
    const token = await issuer.mint({ sub: 'user_profile' })
    const me = await api(server, 'GET', '/me', { token })
    expect(me.body).toMatchObject({ id: 'user_profile', email: null })
    await expect
      .poll(async () => (await api(server, 'GET', '/me', { token })).body)
      .toEqual({ id: 'user_profile', email: 'grace@example.test', name: 'Grace Hopper' })
    // Asked once, with the secret key, whatever the number of requests.
    expect(requests).toEqual(['GET /v1/users/user_profile auth'])
  })
})
