import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { api, registerUser } from '../../helpers/api.ts'
import { defer } from '../../helpers/cleanup.ts'
import { connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { startServerProcess } from '../../helpers/process.ts'
import { startTestServer } from '../../helpers/server.ts'

const mode = (path: string) => statSync(path).mode & 0o777

describe('server files and logs', () => {
  it('keeps the data folder and the SQLite files private (0700 / 0600)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'collab-private-'))
    const dataDir = join(root, 'data')
    const server = await startServerProcess({ DATA_DIR: dataDir, DATABASE_URL: `sqlite:${join(dataDir, 'collab.db')}` })
    // A write, so the WAL exists too.
    await registerUser(server, 'Private')
    expect(mode(dataDir)).toBe(0o700)
    for (const file of ['collab.db', 'collab.db-wal', 'collab.db-shm', 'auth-secret']) {
      expect(mode(join(dataDir, file)), file).toBe(0o600)
    }
    expect(await server.stop()).toBe(0)
  })

  it('sends Hocuspocus warnings through the JSON logger, and keeps tokens out of the log', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'collab-logs-'))
    const server = await startServerProcess({ DATA_DIR: dataDir, DATABASE_URL: `sqlite:${join(dataDir, 'c.db')}`, LOG_LEVEL: 'debug' })
    const user = await registerUser(server, 'Logger')
    await api(server, 'POST', '/documents', { token: user.accessToken, body: { id: 'logged', title: 'Logged' } })
    // A y-websocket client puts its token in the URL.
    const yws = connectYWebsocket(server, 'logged', { token: user.accessToken })
    await yws.synced
    yws.destroy()
    // An unauthenticated socket over Hocuspocus' pre-authentication queue limit: Hocuspocus warns.
    const ws = new WebSocket(`${server.wsUrl}/collab`)
    defer(() => ws.terminate())
    await new Promise((resolve) => ws.once('open', resolve))
    const encoder = encoding.createEncoder()
    encoding.writeVarString(encoder, 'logged')
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarUint8Array(encoder, new Uint8Array(80 * 1024))
    ws.send(encoding.toUint8Array(encoder))
    await new Promise((resolve) => ws.once('close', resolve))
    await expect.poll(() => server.output()).toContain('unauthenticated message queue size limit exceeded')
    expect(await server.stop()).toBe(0)

    const lines = server.output().split('\n').filter((line) => line.trim() !== '')
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow()
    const warning = lines.map((line) => JSON.parse(line)).find((entry) => String(entry.msg).includes('queue size limit'))
    expect(warning).toMatchObject({ level: 40, module: 'console' })
    expect(server.output()).not.toContain(user.accessToken)
    expect(server.output()).not.toContain(user.refreshToken)
  })
})

describeEachDatabase('small hardening', (databases) => {
  it('answers 415 with code unsupported_media_type', async () => {
    const server = await startTestServer(await databases.create())
    const user = await registerUser(server, 'Typed')
    for (const type of ['text/plain', 'application/xml']) {
      const response = await fetch(`${server.url}/api/v1/documents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': type },
        body: 'title',
      })
      expect(response.status, type).toBe(415)
      expect(await response.json()).toMatchObject({ statusCode: 415, code: 'unsupported_media_type' })
    }
  })

  it('says why a JSON body with a __proto__ key is refused, and creates nothing', async () => {
    const server = await startTestServer(await databases.create())
    const user = await registerUser(server, 'Proto')
    for (const body of ['{"id":"proto-doc","title":"x","__proto__":{"admin":true}}', '{"id":"proto-doc","title":"x","constructor":{"prototype":{}}}']) {
      const response = await fetch(`${server.url}/api/v1/documents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' },
        body,
      })
      expect(response.status).toBe(400)
      const error = await response.json()
      expect(error.code).toBe('invalid_input')
      expect(error.message).toContain('__proto__')
    }
    const broken = await fetch(`${server.url}/api/v1/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' },
      body: '{"title": ',
    })
    expect(broken.status).toBe(400)
    expect((await broken.json()).message).toBe('Body is not valid JSON')
    expect((await api(server, 'GET', '/documents/proto-doc', { token: user.accessToken })).status).toBe(404)
  })

  it('/ready names no database internals to anonymous callers', async () => {
    const server = await startTestServer(await databases.create())
    expect((await api(server, 'GET', '//ready')).status).toBe(200)
    await server.database.close()
    const response = await api(server, 'GET', '//ready')
    expect(response.status).toBe(503)
    expect(response.body.checks.database).toBe('unreachable')
  })
})
