import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { Database } from '@hocuspocus/extension-database'
import { Server } from '@hocuspocus/server'
import * as Y from 'yjs'
import { childArgs } from '../lib/ipc.ts'
import { runTarget } from './common.ts'

/**
 * Target C: stock Hocuspocus v4 + @hocuspocus/extension-database storing the full document state
 * into SQLite on every (debounced, default 2 s / 10 s) store: the usual way Hocuspocus persists.
 */
const { dir } = childArgs<{ dir: string }>()
const db = new DatabaseSync(join(dir, 'dbext.db'))
// Same durability settings as the project's SQLite dialect.
db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
  CREATE TABLE IF NOT EXISTS documents (name TEXT PRIMARY KEY, data BLOB NOT NULL)`)
const select = db.prepare('SELECT data FROM documents WHERE name = ?')
const upsert = db.prepare(
  'INSERT INTO documents (name, data) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET data = excluded.data',
)
let stores = 0
let storedBytes = 0

await runTarget(async () => {
  const server = new Server({
    port: 0,
    address: '127.0.0.1',
    quiet: true,
    stopOnSignals: false,
    extensions: [
      new Database({
        fetch: async ({ documentName }) => {
          const row = select.get(documentName) as { data: Uint8Array } | undefined
          return row ? row.data : null
        },
        store: async ({ documentName, state }) => {
          stores++
          storedBytes += state.byteLength
          upsert.run(documentName, state)
        },
      }),
    ],
  })
  await server.listen()
  return {
    port: server.address.port,
    path: '/',
    storage: () => ({ rows: stores, bytes: storedBytes, checkpointRows: 0, checkpointBytes: 0 }),
    async flush() {
      server.hocuspocus.flushPendingStores()
    },
    async close({ replay }) {
      await server.destroy()
      let replayedText: string | undefined
      if (replay) {
        const row = select.get(replay.documentName) as { data: Uint8Array } | undefined
        const doc = new Y.Doc()
        if (row) Y.applyUpdate(doc, row.data)
        replayedText = doc.getText(replay.root).toString()
        doc.destroy()
      }
      db.close()
      return { replayedText }
    },
  }
})
