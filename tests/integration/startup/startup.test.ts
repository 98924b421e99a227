import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { runServerProcess } from '../../helpers/process.ts'

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
