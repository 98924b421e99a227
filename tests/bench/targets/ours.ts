import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { pathToFileURL } from 'node:url'
import * as Y from 'yjs'
import type * as ConfigModule from '../../../server/config/config.ts'
import type * as DocumentQueries from '../../../server/documents/documents.queries.ts'
import type * as ServerModule from '../../../server/server.ts'
import { childArgs } from '../lib/ipc.ts'
import { runTarget, type StorageStats } from './common.ts'

/**
 * Target A: the project's server (Fastify + Hocuspocus + the append-only update log) on SQLite,
 * loaded from `serverRoot` (the working tree, or a commit extracted by `--ours-ref`).
 */
const { dir, serverRoot, env: targetEnv } = childArgs<{ dir: string; serverRoot: string; env: Record<string, string> }>()
// Bench-only switch, not a server setting: `BENCH_NOTIFIER=off` runs the server with its notifier
// detached from the update log (the notifications scenario's "off" run).
const { BENCH_NOTIFIER: notifier, ...env } = targetEnv
const file = join(dir, 'bench.db')

const load = <T>(path: string) => import(pathToFileURL(join(serverRoot, path)).href) as Promise<T>
const { loadConfig } = await load<typeof ConfigModule>('server/config/config.ts')
const { startServer } = await load<typeof ServerModule>('server/server.ts')

function storage(): StorageStats {
  const db = new DatabaseSync(file, { readOnly: true })
  try {
    const sum = (table: string) =>
      db.prepare(`SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM ${table}`).get() as {
        n: number
        b: number
      }
    const updates = sum('document_updates')
    const checkpoints = sum('document_checkpoints')
    return {
      rows: Number(updates.n),
      bytes: Number(updates.b),
      checkpointRows: Number(checkpoints.n),
      checkpointBytes: Number(checkpoints.b),
    }
  } finally {
    db.close()
  }
}

/** Every stored row of the document applied to a fresh Y.Doc (checkpoints are only an acceleration). */
function replay(documentName: string, root: string): string {
  const db = new DatabaseSync(file, { readOnly: true })
  const doc = new Y.Doc()
  try {
    const rows = db
      .prepare('SELECT data FROM document_updates WHERE document_id = ? ORDER BY seq')
      .all(documentName) as { data: Uint8Array }[]
    for (const row of rows) Y.applyUpdate(doc, row.data)
    return doc.getText(root).toString()
  } finally {
    doc.destroy()
    db.close()
  }
}

/**
 * Bench clients speak only the sync protocol, with the token `bench`. On a server with accounts
 * (sign-in and document ownership), a bench-only first extension swaps in a real account's token
 * and creates each document on first use, so the scenarios measure sync, not sign-up. Hocuspocus
 * hands the same payload object to every extension, which is what makes the swap work. An older
 * commit (`--ours-ref`) without accounts accepts any token and needs none of this.
 */
async function admitBenchClients(server: Awaited<ReturnType<typeof ServerModule.startServer>>): Promise<void> {
  const account = { email: 'bench@example.test', password: 'bench-password', name: 'Bench' }
  const post = (path: string, body: object) =>
    fetch(`${server.url}/api/v1/auth/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  let response = await post('register', account)
  if (response.status === 404) return
  // A second instance on the same database (scale scenario) finds the account taken: sign in.
  if (response.status === 409) response = await post('login', { email: account.email, password: account.password })
  if (response.status !== 201 && response.status !== 200)
    throw new Error(`bench account: ${response.status} ${await response.text()}`)
  const { user, accessToken } = (await response.json()) as { user: { id: string }; accessToken: string }
  const { insertDocument } = await load<typeof DocumentQueries>('server/documents/documents.queries.ts')
  const { db } = server.database
  // Created once per document, as an app creates it once over REST: the capacity scenario's
  // connect cost must be the server's, not this setup's insert per socket.
  const created = new Map<string, Promise<unknown>>()
  server.collab.hocuspocus.configuration.extensions.unshift({
    extensionName: 'bench-access',
    async onAuthenticate(data: { token: string; documentName: string }) {
      // Clients of a scenario that signs in real accounts (notifications) keep their own token.
      if (data.token !== 'bench') return
      data.token = accessToken
      let creating = created.get(data.documentName)
      if (!creating) {
        creating = insertDocument(db, { id: data.documentName, title: data.documentName, ownerId: user.id })
        created.set(data.documentName, creating)
      }
      await creating
    },
  })
}

await runTarget(async () => {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: `sqlite:${file}`,
    LOG_LEVEL: 'silent',
    ...env,
  })
  const server = await startServer(config)
  if (notifier === 'off') await server.notifier.stop()
  await admitBenchClients(server)
  return {
    port: server.port,
    path: '/collab',
    storage,
    async flush() {
      server.collab.hocuspocus.flushPendingStores()
      await server.collab.updateLog.flushAll()
    },
    async close({ replay: what }) {
      await server.close()
      return { replayedText: what ? replay(what.documentName, what.root) : undefined }
    },
  }
})
