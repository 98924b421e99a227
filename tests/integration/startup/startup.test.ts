import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { defer } from '../../helpers/cleanup.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { runServerProcess, startServerProcess } from '../../helpers/process.ts'

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('startup', () => {
  it('an invalid DATABASE_URL stops the process with a message naming it', async () => {
    const run = runServerProcess({ DATABASE_URL: 'postgres://localhost/collab', PORT: 'not-a-port' })
    expect(await run.exited).toBe(1)
    expect(run.output()).toContain('Invalid configuration')
    expect(run.output()).toContain('DATABASE_URL: must match pattern')
    expect(run.output()).toContain('PORT: must be an integer')
  })

  it('an unreachable MySQL stops the process with a clear reason', async () => {
    const run = runServerProcess({
      DATABASE_URL: `mysql://collab:collab@127.0.0.1:${await closedPort()}/collab`,
    })
    expect(await run.exited).toBe(1)
    expect(run.output()).toMatch(/Could not start: .*ECONNREFUSED/)
  })
})

describeEachDatabase('startup', (databases) => {
  it('several server processes starting at once on a fresh database all migrate and serve', async () => {
    const database = await databases.create()
    const servers = await Promise.all([1, 2, 3].map(() => startServerProcess({ DATABASE_URL: database.url })))
    for (const server of servers) expect((await fetch(`${server.url}/ready`)).status).toBe(200)
    for (const server of servers) expect(await server.stop()).toBe(0)
  })

  it('a second SIGTERM during a slow shutdown exits at once', async () => {
    const database = await databases.create()
    const server = await startServerProcess({ DATABASE_URL: database.url })
    // A client that never answers the close handshake keeps the graceful shutdown waiting.
    const { port } = new URL(server.url)
    const stuck = connect(Number(port), '127.0.0.1')
    defer(() => stuck.destroy())
    await once(stuck, 'connect')
    stuck.write(
      'GET /yjs/stuck?token=x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    )
    await once(stuck, 'data')
    server.child.kill('SIGTERM')
    await expect.poll(() => server.output()).toContain('SIGTERM: shutting down')
    // A copy arriving with the first (npm forwarding a signal the server got too) is ignored; a
    // signal sent later is not. Send until one counts.
    await expect
      .poll(
        () => {
          if (server.child.exitCode === null) server.child.kill('SIGTERM')
          return server.child.exitCode
        },
        { timeout: 10_000, interval: 250 },
      )
      .toBe(1)
    expect(server.output()).toContain('SIGTERM again: exiting immediately')
  })
})
