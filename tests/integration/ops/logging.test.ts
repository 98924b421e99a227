import { randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { expect, it } from 'vitest'
import { api, createDocument, createShareLink, registerUser, share } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { type ServerProcess, startServerProcess } from '../../helpers/process.ts'
import { stream } from '../../helpers/sse.ts'

interface LogLine {
  level: number
  msg: string
  reqId?: string
  socketId?: string
  module?: string
  [key: string]: unknown
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** Every line the process printed, each parsed: the log is JSON lines and nothing else. */
function logLines(server: ServerProcess): LogLine[] {
  return server
    .output()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine
      } catch {
        throw new Error(`not a JSON log line: ${line}`)
      }
    })
}

/** Waits until `count` lines match (the process writes its log a moment after it acts). */
async function waitForLines(server: ServerProcess, match: (line: LogLine) => boolean, count = 1): Promise<LogLine[]> {
  await expect.poll(() => logLines(server).filter(match).length).toBeGreaterThanOrEqual(count)
  return logLines(server).filter(match)
}

/** The lines between a request's `incoming request` and its `request completed`, both included. */
function linesOfRequest(lines: LogLine[], reqId: string): LogLine[] {
  const start = lines.findIndex((l) => l.msg === 'incoming request' && l.reqId === reqId)
  const end = lines.findIndex((l, i) => i > start && l.msg === 'request completed' && l.reqId === reqId)
  expect(start, `incoming request ${reqId}`).toBeGreaterThanOrEqual(0)
  expect(end, `request completed ${reqId}`).toBeGreaterThan(start)
  return lines.slice(start, end + 1)
}

/**
 * POSTs a JSON body in two parts, the second only once the server has logged the request: the
 * handler then runs after a later socket read, not in the turn the request arrived in.
 */
async function postInTwoParts(server: ServerProcess, path: string, body: unknown, reqId: string): Promise<number> {
  const payload = Buffer.from(JSON.stringify(body))
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      new URL(`/api/v1${path}`, server.url),
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': payload.length, 'x-request-id': reqId },
      },
      (res) => {
        res.resume()
        resolve(res.statusCode!)
      },
    )
    req.on('error', reject)
    req.write(payload.subarray(0, 5))
    waitForLines(server, (l) => l.msg === 'incoming request' && l.reqId === reqId).then(
      () => req.end(payload.subarray(5)),
      reject,
    )
  })
}

describeEachDatabase('logs', (databases) => {
  it('puts a request id on every line of a request and in the response: sent, replaced when invalid, generated', async () => {
    const database = await databases.create()
    const server = await startServerProcess({ DATABASE_URL: database.url, LOG_LEVEL: 'debug' })
    const withId = (id: string) => ({ headers: { 'x-request-id': id } })

    const sent = 'ops-test.1:A_b-c'
    expect((await api(server, 'GET', '//health', withId(sent))).headers.get('x-request-id')).toBe(sent)
    const replaced: string[] = []
    for (const invalid of ['has a space', 'x'.repeat(129), 'quote"d', 'semi;colon']) {
      const id = (await api(server, 'GET', '//health', withId(invalid))).headers.get('x-request-id')
      expect(id).toMatch(UUID)
      replaced.push(id!)
    }
    expect((await api(server, 'GET', '//health', withId('y'.repeat(128)))).headers.get('x-request-id')).toBe('y'.repeat(128))
    const generated = [
      (await api(server, 'GET', '//health')).headers.get('x-request-id')!,
      (await api(server, 'GET', '//health')).headers.get('x-request-id')!,
    ]
    for (const id of generated) expect(id).toMatch(UUID)
    expect(generated[0]).not.toBe(generated[1])
    // Errors carry it too: a 404, a 401, a 400 from validation.
    expect((await api(server, 'GET', '//nope', withId('err-404'))).headers.get('x-request-id')).toBe('err-404')
    expect((await api(server, 'GET', '/me', withId('err-401'))).headers.get('x-request-id')).toBe('err-401')
    const invalidBody = await api(server, 'POST', '/auth/login', { body: { email: 1 }, ...withId('err-400') })
    expect(invalidBody.status).toBe(400)
    expect(invalidBody.headers.get('x-request-id')).toBe('err-400')

    // A line written by a module's own logger (not request.log), after the body was read: a
    // rotated refresh token presented again is logged by the refresh-token store.
    const user = await registerUser(server, 'Logged')
    const rotated = await api(server, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } })
    expect(rotated.status).toBe(200)
    const reuse = await api(server, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken }, ...withId('reuse-1') })
    expect(reuse.status).toBe(401)
    const [warning] = await waitForLines(server, (l) => l.msg.startsWith('a rotated refresh token was presented again'))
    expect(warning!.reqId).toBe('reuse-1')
    // The same with a body that arrives late.
    const late = await registerUser(server, 'Late')
    expect((await api(server, 'POST', '/auth/refresh', { body: { refreshToken: late.refreshToken } })).status).toBe(200)
    expect(await postInTwoParts(server, '/auth/refresh', { refreshToken: late.refreshToken }, 'reuse-late')).toBe(401)
    const warnings = await waitForLines(server, (l) => l.msg === warning!.msg, 2)
    expect(warnings.map((l) => l.reqId)).toEqual(['reuse-1', 'reuse-late'])
    await waitForLines(server, (l) => l.msg === 'request completed' && l.reqId === 'reuse-late')

    const lines = logLines(server)
    for (const id of [sent, 'y'.repeat(128), ...replaced, ...generated, 'err-404', 'err-401', 'err-400', 'reuse-1', 'reuse-late']) {
      const ofRequest = linesOfRequest(lines, id)
      for (const line of ofRequest) expect(line.reqId, JSON.stringify(line)).toBe(id)
    }
    expect(linesOfRequest(lines, 'reuse-1').map((l) => l.msg)).toContain(warning!.msg)
    // Invalid ids never reach the log.
    expect(server.output()).not.toContain('has a space')
    expect(server.output()).not.toContain('x'.repeat(129))
    // Every request line has an id; nothing is logged as a request without one.
    for (const line of lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed')) {
      expect(typeof line.reqId).toBe('string')
    }
  })

  it('puts the connection id on every line about a socket, the same id Hocuspocus reports', async () => {
    const database = await databases.create()
    const server = await startServerProcess({ DATABASE_URL: database.url, LOG_LEVEL: 'debug' })
    const owner = await registerUser(server, 'Owner')
    const viewer = await registerUser(server, 'Viewer')
    await createDocument(server, owner, 'sockets')
    await share(server, owner, 'sockets', viewer, 'viewer')

    const hp = connectHocuspocus(server, 'sockets', { token: owner.accessToken })
    const yws = connectYWebsocket(server, 'sockets', { token: owner.accessToken })
    const reader = connectHocuspocus(server, 'sockets', { token: viewer.accessToken })
    await Promise.all([hp.synced, yws.synced, reader.synced])
    // A refused token (logged by the access extension) and a read-only edit (by the validator).
    const refused = connectYWebsocket(server, 'sockets', { token: 'not-a-valid-token' })
    reader.doc.getText('default').insert(0, 'read-only')
    await waitForLines(server, (l) => l.msg === 'connection refused')
    await waitForLines(server, (l) => l.msg === 'update from a read-only connection dropped')
    refused.destroy()
    for (const client of [hp, yws, reader]) client.destroy()
    // Every socket opened has closed (the refused client may have retried a few times).
    await expect
      .poll(() => {
        const lines = logLines(server)
        const count = (msg: string) => lines.filter((l) => l.msg === msg).length
        return count('websocket opened') >= 4 && count('websocket opened') === count('websocket closed')
      })
      .toBe(true)

    const lines = logLines(server)
    const opened = lines.filter((l) => l.msg === 'websocket opened')
    const ids = new Set(opened.map((l) => l.socketId))
    expect(ids.size).toBe(opened.length)
    for (const line of opened) {
      expect(line.socketId).toMatch(UUID)
      expect(['collab', 'y-websocket']).toContain(line.protocol)
    }
    // Each socket's lines share its id: opened, closed, and what Hocuspocus' hooks logged about it.
    const closed = lines.filter((l) => l.msg === 'websocket closed').map((l) => l.socketId)
    expect(new Set(closed)).toEqual(ids)
    const [refusal] = lines.filter((l) => l.msg === 'connection refused')
    expect(ids).toContain(refusal!.socketId)
    expect(opened.find((l) => l.socketId === refusal!.socketId)!.protocol).toBe('y-websocket')
    const [dropped] = lines.filter((l) => l.msg === 'update from a read-only connection dropped')
    expect(opened.find((l) => l.socketId === dropped!.socketId)!.protocol).toBe('collab')
    for (const line of lines.filter((l) => l.module === 'websocket' && l.msg !== 'websocket upgrade refused')) {
      expect(ids, JSON.stringify(line)).toContain(line.socketId)
    }
  })

  it('never logs a token, password or share-link secret, at LOG_LEVEL=debug', async () => {
    const database = await databases.create()
    const authSecret = randomBytes(48).toString('base64url')
    const metricsToken = `mt-${randomBytes(24).toString('hex')}`
    const server = await startServerProcess({
      DATABASE_URL: database.url,
      LOG_LEVEL: 'debug',
      AUTH_SECRET: authSecret,
      METRICS_TOKEN: metricsToken,
    })
    const secrets: string[] = [authSecret, metricsToken]
    const keep = (...values: string[]) => secrets.push(...values)

    // Sign-up, sign-in (right and wrong password), refresh, reuse of a rotated refresh token.
    const owner = await registerUser(server, 'Owner')
    const editor = await registerUser(server, 'Editor')
    keep(owner.password, owner.accessToken, owner.refreshToken, editor.password, editor.accessToken, editor.refreshToken)
    const login = await api(server, 'POST', '/auth/login', { body: { email: owner.email, password: owner.password } })
    expect(login.status).toBe(200)
    keep(login.body.accessToken, login.body.refreshToken)
    const wrongPassword = `wrong-${randomBytes(8).toString('hex')}`
    keep(wrongPassword)
    expect((await api(server, 'POST', '/auth/login', { body: { email: owner.email, password: wrongPassword } })).status).toBe(401)
    const refreshed = await api(server, 'POST', '/auth/refresh', { body: { refreshToken: login.body.refreshToken } })
    expect(refreshed.status).toBe(200)
    keep(refreshed.body.accessToken, refreshed.body.refreshToken)
    expect((await api(server, 'POST', '/auth/refresh', { body: { refreshToken: login.body.refreshToken } })).status).toBe(401)

    // A document, shared with a person and by link; the link used over REST and both socket protocols.
    await createDocument(server, owner, 'secret-free')
    await share(server, owner, 'secret-free', editor, 'editor')
    const link = await createShareLink(server, owner, 'secret-free', 'editor')
    keep(link.token)
    expect((await api(server, 'GET', '/documents/secret-free', { token: link.token })).status).toBe(200)
    // A token in the query string of a REST URL is cut from the request log (refused or not).
    expect((await api(server, 'GET', `/documents?token=${editor.accessToken}`, { token: editor.accessToken })).status).toBe(400)
    expect((await api(server, 'GET', `//nowhere?token=${link.token}`)).status).toBe(404)
    const hp = connectHocuspocus(server, 'secret-free', { token: editor.accessToken })
    const byLink = connectYWebsocket(server, 'secret-free', { token: link.token })
    const byUser = connectYWebsocket(server, 'secret-free', { token: owner.accessToken })
    await Promise.all([hp.synced, byLink.synced, byUser.synced])
    hp.doc.getText('default').insert(0, 'typed by the editor')
    await expect.poll(() => byLink.doc.getText('default').toString()).toBe('typed by the editor')
    // Refused tokens: a forged share link, a tampered access token.
    const forged = `shl_${randomBytes(32).toString('base64url')}`
    const tampered = `${owner.accessToken.slice(0, -4)}AAAA`
    keep(forged, tampered)
    connectYWebsocket(server, 'secret-free', { token: forged })
    connectHocuspocus(server, 'secret-free', { token: tampered })
    expect((await api(server, 'GET', '/me', { token: tampered })).status).toBe(401)
    await waitForLines(server, (l) => l.msg === 'connection refused', 2)
    // The notification stream with `?token=` (EventSource can't send headers).
    const sse = await stream(server, { query: { token: editor.accessToken } })
    sse.close()
    // Metrics with the right and a wrong token.
    expect((await api(server, 'GET', '//metrics', { token: metricsToken })).status).toBe(200)
    expect((await api(server, 'GET', '//metrics', { token: `${metricsToken}0` })).status).toBe(401)
    // Sign-out.
    const logout = await api(server, 'POST', '/auth/logout', {
      body: { refreshToken: refreshed.body.refreshToken },
      headers: { 'x-request-id': 'logout' },
    })
    expect(logout.status).toBe(204)
    await waitForLines(server, (l) => l.msg === 'request completed' && l.reqId === 'logout')

    for (const client of [hp, byLink, byUser]) client.destroy()
    expect(await server.stop('SIGTERM')).toBe(0)
    const output = server.output()
    // The run was logged at debug: requests (their redacted URLs) and sockets are in there.
    expect(output).toContain('"msg":"websocket opened"')
    expect(output).toContain('/api/v1/documents?token=[redacted]')
    expect(output).toContain('/nowhere?token=[redacted]')
    expect(output).toContain('/api/v1/notifications/stream?token=[redacted]')
    expect(output).toContain('/api/v1/auth/login')
    logLines(server)
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThanOrEqual(16)
      expect(output.includes(secret), `a secret is in the log: ${secret.slice(0, 6)}…`).toBe(false)
      // Nor its tail (a JWT's signature, a token cut short by some serializer).
      expect(output.includes(secret.slice(-16)), `the end of a secret is in the log: ${secret.slice(0, 6)}…`).toBe(false)
    }
  })
})
