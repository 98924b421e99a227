import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { documentWithOwner } from '../../helpers/api.ts'
import { connectHocuspocus } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { replayJson } from '../../helpers/log.ts'
import { isRunning, startServerProcess } from '../../helpers/process.ts'
import { startTestServer } from '../../helpers/server.ts'

const STOPS = [
  // What a process manager, or `docker stop` with an npm CMD, does.
  { name: 'SIGTERM to npm', signal: 'SIGTERM', group: false },
  { name: 'SIGINT to npm', signal: 'SIGINT', group: false },
  // Ctrl-C in a terminal: npm and the server both get it, then npm forwards it once more.
  { name: 'SIGINT to the process group (Ctrl-C)', signal: 'SIGINT', group: true },
] as const

describeEachDatabase('npm start', (databases) => {
  it.each(STOPS)('$name: the server stores what it holds, exits, and npm exits 0', async ({ signal, group }) => {
    const database = await databases.create()
    // A long debounce: only the shutdown flush can store the edit.
    const npm = await startServerProcess(
      {
        DATABASE_URL: database.url,
        DATA_DIR: mkdtempSync(join(tmpdir(), 'collab-data-')),
        STORE_DEBOUNCE_MS: '60000',
        STORE_MAX_DEBOUNCE_MS: '120000',
      },
      30_000,
      { via: 'npm' },
    )
    expect((await fetch(`${npm.url}/health`)).status).toBe(200)
    const serverPid = Number(/"pid":(\d+)/.exec(npm.output())?.[1])
    expect(serverPid).not.toBe(npm.child.pid)

    const { accessToken: token } = await documentWithOwner(npm, 'npm-stop')
    const writer = connectHocuspocus(npm, 'npm-stop', { token })
    await writer.synced
    writer.doc.getText('default').insert(0, `kept through ${signal}`)
    await expect
      .poll(async () => (await fetch(`${npm.url}/api/v1/documents/npm-stop/content?format=text`, {
        headers: { authorization: `Bearer ${token}` },
      })).text())
      .toBe(`kept through ${signal}`)

    process.kill(group ? -npm.child.pid! : npm.child.pid!, signal)
    expect(await npm.exited, npm.output()).toBe(0)
    writer.destroy()
    expect(npm.output()).toContain('shutdown complete')
    expect(npm.output()).not.toContain('exiting immediately')
    // npm waited for its child: no server is left running, orphaned and unflushed.
    expect(isRunning(serverPid)).toBe(false)

    const reader = await startTestServer(database)
    expect(await replayJson(reader.database.db, 'npm-stop')).toEqual({ default: `kept through ${signal}` })
  })
})
