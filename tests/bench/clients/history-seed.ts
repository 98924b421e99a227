import type { FastifyBaseLogger } from 'fastify'
import { sql } from 'kysely'
import * as Y from 'yjs'
import type { Db } from '../../../server/db/schema.ts'
import { connectDatabase } from '../../../server/db/connect.ts'
import { insertDocument } from '../../../server/documents/documents.queries.ts'
import { UpdateLogExtension } from '../../../server/versions/update-log.extension.ts'
import { random } from '../lib/client.ts'
import { childArgs, emit, progress, serve } from '../lib/ipc.ts'
import { digest, type TextDigest } from '../targets/common.ts'

/**
 * Scenario 4's seeder: writes a history of `rows` log rows into target A's SQLite file through the
 * server's own log writer (`UpdateLogExtension`, one row per stored edit, its checkpoint policy and
 * all), as if someone had typed for days, then copies it: documents with the same rows and
 * checkpoints, with the rows alone (every load replays the whole log), and with one row holding the
 * full state (what a full-state store loads). Runs beside the idle server (SQLite WAL).
 */
export interface SeedArgs {
  file: string
  rows: number
  /** Each copy's id; a document is never loaded twice, so every load is cold. */
  copies: { checkpoints: string[]; log: string[]; blob: string[] }
  /** The text at this seq is reported, for checking reads and restores of it. */
  probeSeq: number
  randomSeed: number
}

export interface SeedReport {
  source: string
  rows: number
  logBytes: number
  checkpoints: number
  checkpointBytes: number
  stateBytes: number
  final: TextDigest
  probe: TextDigest
  seedMs: number
}

export const SOURCE_DOCUMENT = 'history-source'
const BENCH_EMAIL = 'bench@example.test'
const WORDS = 'the of and to in is you that it he was for on are as with his they at be this from have or'.split(' ')

const args = childArgs<SeedArgs>()

serve(async (command) => {
  if (command === 'close') return null
  if (command !== 'run') throw new Error(`unknown command ${command}`)
  const { db, close } = connectDatabase({ kind: 'sqlite', file: args.file, url: `sqlite:${args.file}` })
  try {
    return await seed(db)
  } finally {
    await close()
  }
})
emit('ready')

const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent } as unknown as FastifyBaseLogger

async function seed(db: Db): Promise<SeedReport> {
  const started = performance.now()
  const owner = await db.selectFrom('users').select('id').where('email', '=', BENCH_EMAIL).executeTakeFirstOrThrow()
  await insertDocument(db, { id: SOURCE_DOCUMENT, title: SOURCE_DOCUMENT, ownerId: owner.id })
  const log = new UpdateLogExtension({ db, log: silent })
  await log.onLoadDocument({ documentName: SOURCE_DOCUMENT, document: new Y.Doc() } as never)

  // Synthetic typing: each row a sentence typed somewhere in the text, every tenth also deletes a
  // few words; about 1 MB of text after 10,000 rows.
  const doc = new Y.Doc()
  const text = doc.getText('default')
  const next = random(args.randomSeed)
  let probe: TextDigest | undefined
  for (let seq = 1; seq <= args.rows; seq++) {
    let update: Uint8Array | undefined
    const capture = (u: Uint8Array) => (update = u)
    doc.once('update', capture)
    doc.transact(() => {
      if (seq % 10 === 0 && text.length > 200) text.delete(Math.floor(next() * (text.length - 40)), 30)
      const words = Array.from({ length: 18 }, () => WORDS[Math.floor(next() * WORDS.length)]!)
      text.insert(Math.floor(next() * (text.length + 1)), `${words.join(' ')}. `)
    })
    await log.recordServerEdit(SOURCE_DOCUMENT, update!, { author: owner.id, kind: 'update' })
    if (seq === args.probeSeq) probe = digest(text.toString())
    // node:sqlite answers synchronously: without a turn of the event loop per row, the writer's
    // background checkpoints (setImmediate) would only run once the whole history is written.
    await new Promise((resolve) => setImmediate(resolve))
    if (seq % 2_000 === 0) progress(`seeded ${seq}/${args.rows} rows`)
  }
  await log.stop()
  const state = Y.encodeStateAsUpdate(doc)

  for (const id of args.copies.checkpoints) await copy(db, id, owner.id, { checkpoints: true })
  for (const id of args.copies.log) await copy(db, id, owner.id, { checkpoints: false })
  for (const id of args.copies.blob) {
    await insertDocument(db, { id, title: id, ownerId: owner.id })
    await db.updateTable('documents').set({ last_seq: 1 }).where('id', '=', id).execute()
    const now = Date.now()
    await db
      .insertInto('document_updates')
      .values({ document_id: id, seq: 1, data: state, bytes: state.byteLength, kind: 'update', authors: JSON.stringify([owner.id]), label: null, created_at: now })
      .execute()
  }

  const sum = (table: 'document_updates' | 'document_checkpoints') =>
    db
      .selectFrom(table)
      .select([(eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.sum<number>('bytes').as('b')])
      .where('document_id', '=', SOURCE_DOCUMENT)
      .executeTakeFirstOrThrow()
  const rows = await sum('document_updates')
  const checkpoints = await sum('document_checkpoints')
  return {
    source: SOURCE_DOCUMENT,
    rows: Number(rows.n),
    logBytes: Number(rows.b),
    checkpoints: Number(checkpoints.n),
    checkpointBytes: Number(checkpoints.b ?? 0),
    stateBytes: state.byteLength,
    final: digest(text.toString()),
    probe: probe ?? digest(text.toString()),
    seedMs: performance.now() - started,
  }
}

/** The source document's log (and checkpoints) under another id. */
async function copy(db: Db, id: string, ownerId: string, options: { checkpoints: boolean }): Promise<void> {
  await insertDocument(db, { id, title: id, ownerId })
  const source = await db.selectFrom('documents').select('last_seq').where('id', '=', SOURCE_DOCUMENT).executeTakeFirstOrThrow()
  await db.updateTable('documents').set({ last_seq: source.last_seq }).where('id', '=', id).execute()
  await sql`INSERT INTO document_updates (document_id, seq, data, bytes, kind, authors, label, created_at)
    SELECT ${id}, seq, data, bytes, kind, authors, label, created_at FROM document_updates WHERE document_id = ${SOURCE_DOCUMENT}`.execute(db)
  if (options.checkpoints) {
    await sql`INSERT INTO document_checkpoints (document_id, seq, data, bytes, created_at)
      SELECT ${id}, seq, data, bytes, created_at FROM document_checkpoints WHERE document_id = ${SOURCE_DOCUMENT}`.execute(db)
  }
}
