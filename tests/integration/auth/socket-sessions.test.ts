import { expect, it } from 'vitest'
import { api, createDocument, registerUser, share, type TestUser } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket, type HocuspocusClient, type YWebsocketClient } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { startTestServer, type TestServer } from '../../helpers/server.ts'

// The shortest access token the server allows; the server tolerates 5 s of clock skew after it.
const TTL = { ACCESS_TOKEN_TTL_SECONDS: '10' }
// Expiry (10 s) + tolerance (5 s) + the sweep, with room for a loaded machine.
const EXPIRY = { timeout: 25_000, interval: 100 }

function authFailures(client: HocuspocusClient): string[] {
  const reasons: string[] = []
  client.provider.on('authenticationFailed', ({ reason }: { reason: string }) => reasons.push(reason))
  return reasons
}

function closeEvents(client: YWebsocketClient): { code: number; reason: string }[] {
  const events: { code: number; reason: string }[] = []
  client.provider.on('connection-close', (event: { code: number; reason: string } | null) => {
    if (event) events.push({ code: event.code, reason: event.reason })
  })
  return events
}

/** What the database holds for the document, read through a fresh REST call (stored rows only once unloaded). */
async function storedText(server: TestServer, owner: TestUser, id: string): Promise<string> {
  const response = await api(server, 'GET', `/documents/${id}/content?format=text`, { token: owner.accessToken })
  return response.body.toString()
}

async function refreshed(server: TestServer, user: { refreshToken: string }): Promise<{ accessToken: string; refreshToken: string }> {
  const response = await api(server, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } })
  if (response.status !== 200) throw new Error(`refresh failed: ${response.status}`)
  user.refreshToken = response.body.refreshToken
  return response.body
}

describeEachDatabase('sockets follow their token', (databases) => {
  it('closes connections on both protocols when their access token expires, and stores nothing they send after', async () => {
    const server = await startTestServer(await databases.create(), TTL)
    const owner = await registerUser(server, 'Owner')
    const member = await registerUser(server, 'Member')
    await createDocument(server, owner, 'expiring')
    await share(server, owner, 'expiring', member, 'editor')
    const hp = connectHocuspocus(server, 'expiring', { token: member.accessToken })
    const yws = connectYWebsocket(server, 'expiring', { token: member.accessToken })
    const hpFailures = authFailures(hp)
    const ywsCloses = closeEvents(yws)
    await Promise.all([hp.synced, yws.synced])
    hp.doc.getText('default').insert(0, 'before ')
    await expect.poll(() => storedText(server, owner, 'expiring')).toBe('before ')

    await expect.poll(() => hpFailures, EXPIRY).toContain('unauthorized:token-expired')
    await expect.poll(() => ywsCloses, EXPIRY).toContainEqual({ code: 4401, reason: 'unauthorized:token-expired' })
    // 4401 is final for y-websocket: it does not reconnect with the dead token.
    expect(yws.provider.shouldConnect).toBe(false)

    hp.doc.getText('default').insert(0, 'after ')
    yws.doc.getText('default').insert(0, 'also after ')
    // A fresh client (the owner, with a fresh token) sees only what was sent in time.
    const fresh = await refreshed(server, owner)
    const check = connectHocuspocus(server, 'expiring', { token: fresh.accessToken })
    await check.synced
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(check.doc.getText('default').toString()).toBe('before ')
  })

  it('keeps a HocuspocusProvider connected when it presents a fresh token in time', async () => {
    const server = await startTestServer(await databases.create(), TTL)
    const owner = await registerUser(server, 'Owner')
    await createDocument(server, owner, 'renewed')
    // The README's pattern: the provider's token is a function returning the app's current token.
    // The server asks for it before expiry (and an app may call provider.sendToken() itself).
    let current = owner.accessToken
    let asked = 0
    const hp = connectHocuspocus(server, 'renewed', {
      token: async () => {
        asked += 1
        if (asked > 1) current = (await refreshed(server, owner)).accessToken
        return current
      },
    })
    const failures = authFailures(hp)
    await hp.synced
    // Past the first token's expiry and tolerance.
    await new Promise((resolve) => setTimeout(resolve, 17_000))
    expect(failures).toEqual([])
    expect(asked).toBeGreaterThan(1)
    hp.doc.getText('default').insert(0, 'still editing')
    await expect.poll(() => storedText(server, { accessToken: current } as TestUser, 'renewed')).toBe('still editing')
  })

  it('a y-websocket client that reconnects with a fresh token on 4401 loses nothing', async () => {
    const server = await startTestServer(await databases.create(), TTL)
    const owner = await registerUser(server, 'Owner')
    await createDocument(server, owner, 'reconnect')
    const yws = connectYWebsocket(server, 'reconnect', { token: owner.accessToken })
    let current = owner.accessToken
    // The README's pattern: y-websocket can't renew on an open socket; on 4401 it stops, the app
    // gets a fresh token and connects again. What was typed meanwhile syncs on reconnect.
    yws.provider.on('closed', (event: { code: number }) => {
      if (event.code !== 4401) return
      void refreshed(server, owner).then(({ accessToken }) => {
        current = accessToken
        yws.provider.params = { ...yws.provider.params, token: accessToken }
        yws.provider.connect()
      })
    })
    await yws.synced
    yws.doc.getText('default').insert(0, 'first ')
    await expect.poll(() => current !== owner.accessToken, EXPIRY).toBe(true)
    yws.doc.getText('default').insert(6, 'second')
    await expect.poll(() => storedText(server, { accessToken: current } as TestUser, 'reconnect'), { timeout: 5_000 }).toBe('first second')
  })

  it('refuses a token for another user presented on an open connection', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await registerUser(server, 'Owner')
    const other = await registerUser(server, 'Other')
    await createDocument(server, owner, 'swap')
    await share(server, owner, 'swap', other, 'viewer')
    let token = owner.accessToken
    const hp = connectHocuspocus(server, 'swap', { token: () => token })
    const failures = authFailures(hp)
    await hp.synced
    token = other.accessToken
    await hp.provider.sendToken()
    await expect.poll(() => failures).toContain('unauthorized:token-mismatch')
  })

  it('logout closes the sockets of that sign-in, and only those', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await registerUser(server, 'Owner')
    await createDocument(server, owner, 'logout')
    // A second sign-in of the same user (another device) must stay connected.
    const login = await api(server, 'POST', '/auth/login', { body: { email: owner.email, password: owner.password } })
    const otherDevice = connectHocuspocus(server, 'logout', { token: login.body.accessToken })
    const hp = connectHocuspocus(server, 'logout', { token: owner.accessToken })
    const yws = connectYWebsocket(server, 'logout', { token: owner.accessToken })
    const hpFailures = authFailures(hp)
    const otherFailures = authFailures(otherDevice)
    const ywsCloses = closeEvents(yws)
    await Promise.all([hp.synced, yws.synced, otherDevice.synced])

    expect((await api(server, 'POST', '/auth/logout', { body: { refreshToken: owner.refreshToken } })).status).toBe(204)
    await expect.poll(() => hpFailures, { timeout: 2_000 }).toContain('unauthorized:signed-out')
    await expect.poll(() => ywsCloses, { timeout: 2_000 }).toContainEqual({ code: 4401, reason: 'unauthorized:signed-out' })

    otherDevice.doc.getText('default').insert(0, 'other device')
    await expect.poll(() => storedText(server, { accessToken: login.body.accessToken } as TestUser, 'logout')).toBe('other device')
    expect(otherFailures).toEqual([])
  })

  it('closes the sockets of a user whose account no longer exists', async () => {
    const server = await startTestServer(await databases.create(), { SESSION_CHECK_INTERVAL_SECONDS: '1' })
    const owner = await registerUser(server, 'Owner')
    const member = await registerUser(server, 'Member')
    await createDocument(server, owner, 'gone')
    await share(server, owner, 'gone', member, 'editor')
    const hp = connectHocuspocus(server, 'gone', { token: member.accessToken })
    const yws = connectYWebsocket(server, 'gone', { token: member.accessToken })
    const hpFailures = authFailures(hp)
    const ywsCloses = closeEvents(yws)
    await Promise.all([hp.synced, yws.synced])

    await server.database.db.deleteFrom('users').where('id', '=', member.id).execute()
    await expect.poll(() => hpFailures, { timeout: 5_000 }).toContain('unauthorized:unknown-user')
    await expect.poll(() => ywsCloses, { timeout: 5_000 }).toContainEqual({ code: 4401, reason: 'unauthorized:unknown-user' })
    hp.doc.getText('default').insert(0, 'ghost')
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await storedText(server, owner, 'gone')).toBe('')
  })
})
