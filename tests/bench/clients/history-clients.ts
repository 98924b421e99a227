import * as Y from 'yjs'
import { revertUpdate } from '../../../server/versions/restore.ts'
import { type BenchClient, connect } from '../lib/client.ts'
import { childArgs, emit, serve, sleep, wallNow } from '../lib/ipc.ts'
import { digest, type TextDigest } from '../targets/common.ts'

/**
 * Scenario 4's clients, in one process (one clock): cold loads (a fresh client per document, time
 * until synced); N clients on one document that time fan-out rounds, of a one-character edit and of
 * the very update a restore sends (one client reverts locally, the way the server does); and N
 * clients that watch a server-side restore arrive.
 */
export interface HistoryClientArgs {
  wsUrl: string
}

export interface LoadResult {
  ms: number
  length: number
}

export interface RestoreSeen {
  /** Wall-clock time at which each client's text equalled the expected one. */
  at: number[]
}

const args = childArgs<HistoryClientArgs>()
let clients: BenchClient[] = []

serve(async (command, payload) => {
  switch (command) {
    case 'load':
      return load(payload as { documentName: string })
    case 'connect':
      return connectAll(payload as { documentName: string; clients: number })
    case 'fanout':
      return fanout(payload as { edits: number })
    case 'revert':
      return revertRound(payload as { version: string; expected: TextDigest })
    case 'watch':
      watch((payload as { expected: TextDigest }).expected)
      return null
    case 'disconnect':
    case 'close':
      for (const client of clients) client.destroy()
      clients = []
      return null
    default:
      throw new Error(`unknown command ${command}`)
  }
})
emit('ready')

async function load({ documentName }: { documentName: string }): Promise<LoadResult> {
  const started = performance.now()
  const client = connect(args.wsUrl, documentName, { awareness: false })
  await client.synced
  const ms = performance.now() - started
  const { length } = client.doc.getText('default')
  client.destroy()
  return { ms, length }
}

async function connectAll({ documentName, clients: count }: { documentName: string; clients: number }) {
  const started = performance.now()
  clients = Array.from({ length: count }, () => connect(args.wsUrl, documentName, { awareness: false }))
  await Promise.all(clients.map((c) => c.synced))
  return { connectMs: performance.now() - started, length: clients[0]!.doc.getText('default').length }
}

/** One client types a character `edits` times; ms until the last of the others has each one. */
async function fanout({ edits }: { edits: number }): Promise<number[]> {
  const [writer, ...readers] = clients
  const rounds: number[] = []
  for (let i = 0; i < edits; i++) {
    const text = writer!.doc.getText('default')
    const target = text.length + 1
    const sent = performance.now()
    text.insert(0, 'x')
    while (readers.some((r) => r.doc.getText('default').length < target)) await sleep(0)
    rounds.push(performance.now() - sent)
    await sleep(50)
  }
  return rounds
}

/**
 * One fan-out round of a restore's update: the first client computes the revert to `version` (base64
 * of its full state) as the server would, then applies it; ms until every other client shows it.
 */
async function revertRound({ version, expected }: { version: string; expected: TextDigest }) {
  const [writer, ...readers] = clients
  const update = revertUpdate(writer!.doc, Buffer.from(version, 'base64'))
  const pending = new Set(readers)
  const done = new Promise<void>((resolve) => {
    for (const reader of readers) {
      const text = reader.doc.getText('default')
      const check = () => {
        if (text.length !== expected.length || digest(text.toString()).sha256 !== expected.sha256) return
        reader.doc.off('update', check)
        pending.delete(reader)
        if (pending.size === 0) resolve()
      }
      reader.doc.on('update', check)
    }
  })
  const sent = performance.now()
  Y.applyUpdate(writer!.doc, update)
  await done
  return { roundMs: performance.now() - sent, updateBytes: update.byteLength }
}

/** Emits `restored` once every client's text equals `expected`, with the time each got there. */
function watch(expected: TextDigest): void {
  const at = new Array<number>(clients.length).fill(0)
  let remaining = clients.length
  clients.forEach((client, i) => {
    const text = client.doc.getText('default')
    const check = () => {
      if (at[i] || text.length !== expected.length || digest(text.toString()).sha256 !== expected.sha256) return
      at[i] = wallNow()
      client.doc.off('update', check)
      if (--remaining === 0) emit('restored', { at } satisfies RestoreSeen)
    }
    client.doc.on('update', check)
  })
}
