import type * as Y from 'yjs'
import { type BenchClient, connect, random, untilAcknowledged } from '../lib/client.ts'
import { childArgs, emit, progress, serve, sleep } from '../lib/ipc.ts'

/**
 * The notifications scenario's sync clients, in one process (one clock): editors that type like
 * people (real accounts, each its own token) and watchers, other collaborators with the document
 * open. Every editor's keystroke is timed until each other editor and every watcher has it.
 */
export interface NotificationsClientArgs {
  wsUrl: string
  documentName: string
  editorTokens: string[]
  watcherTokens: string[]
  /** Keystrokes per second per editor. */
  keystrokesPerSecond: number
  /** Pairs slower than this are reported with their time (to tell whether they came with a store). */
  slowMs: number
  randomSeed: number
}

/** One stretch of typing; the editors carry on where the previous one stopped. */
export interface NotificationsRunArgs {
  seconds: number
  /** Keystrokes typed in the first this many seconds are not counted (connections warm up). */
  warmupSeconds: number
}

export interface NotificationsClientResult {
  /** Per (counted keystroke, receiving client): ms from the editor's transaction to the receiver's update. */
  latencies: number[]
  /** The counted pairs slower than `slowMs`: when the keystroke was typed (wall clock, ms) and how long it took. */
  slow: { at: number; ms: number }[]
  keystrokes: number
  /** (keystroke, receiver) pairs that never arrived within 10 s of the end. */
  missing: number
  /** Wall-clock ms (Date.now) when typing started and ended. */
  startedAt: number
  endedAt: number
}

const args = childArgs<NotificationsClientArgs>()

const editors = args.editorTokens.map((token) => connect(args.wsUrl, args.documentName, { token }))
// With awareness, as in a browser: its renewal every 15 s is what keeps an idle client from being
// dropped by Hocuspocus after 30 s of silence (and reconnecting a second later).
const watchers = args.watcherTokens.map((token) => connect(args.wsUrl, args.documentName, { token }))
const everyone: BenchClient[] = [...editors, ...watchers]
const connectStarted = performance.now()
await Promise.all(everyone.map((client) => client.synced))
progress(`${editors.length} editors and ${watchers.length} watchers synced in ${(performance.now() - connectStarted).toFixed(0)} ms`)

const rand = random(args.randomSeed)
const cursors = editors.map(() => ({ at: 0, wordLeft: 0, typed: 0 }))

serve(async (command, payload) => {
  if (command === 'run') return run(payload as NotificationsRunArgs)
  if (command === 'close') {
    for (const client of everyone) client.destroy()
    return null
  }
  throw new Error(`unknown command ${command}`)
})
emit('ready')

/**
 * The clock of `clientId` in `doc`: how many of that client's items it has. An editor only
 * inserts one character per keystroke, so its n-th keystroke is its item with clock n − 1 and a
 * receiver has it once this passes n − 1 (yjs keeps structs per client, sorted by clock).
 */
function clockOf(doc: Y.Doc, clientId: number): number {
  const structs = doc.store.clients.get(clientId)
  const last = structs?.[structs.length - 1]
  return last ? last.id.clock + last.length : 0
}

async function run({ seconds, warmupSeconds }: NotificationsRunArgs): Promise<NotificationsClientResult> {
  const perEditor = Math.round(seconds * args.keystrokesPerSecond)
  const interval = 1000 / args.keystrokesPerSecond
  const warmup = Math.round(warmupSeconds * args.keystrokesPerSecond)
  // sent[e][clock]: when editor e typed its item with that clock (relative to the typing start).
  const sent = editors.map(() => new Float64Array(perEditor))
  const base = editors.map((editor) => clockOf(editor.doc, editor.doc.clientID))
  const latencies: number[] = []
  const slow: { at: number; ms: number }[] = []
  let pending = perEditor * editors.length * (everyone.length - 1)
  let allArrived: () => void = () => {}
  const arrived = new Promise<void>((resolve) => {
    allArrived = resolve
  })
  const detach: (() => void)[] = []
  for (const receiver of everyone) {
    const seen = editors.map((_, e) => (editors[e] === receiver ? perEditor : 0))
    const onUpdate = () => {
      const now = performance.now()
      editors.forEach((editor, e) => {
        if (editor === receiver) return
        const upTo = Math.min(perEditor, clockOf(receiver.doc, editor.doc.clientID) - base[e]!)
        for (; seen[e]! < upTo; seen[e]!++) {
          pending--
          if (seen[e]! < warmup) continue
          const typedAt = sent[e]![seen[e]!]!
          latencies.push(now - typedAt)
          if (now - typedAt > args.slowMs) slow.push({ at: performance.timeOrigin + typedAt, ms: now - typedAt })
        }
      })
      if (pending === 0) allArrived()
    }
    receiver.doc.on('update', onUpdate)
    detach.push(() => receiver.doc.off('update', onUpdate))
  }

  const startedAt = Date.now()
  const started = performance.now()
  let lastProgress = started
  // Editors start a fraction of an interval apart, so keystrokes don't land in lockstep.
  const events = editors.flatMap((_, e) =>
    Array.from({ length: perEditor }, (_, i) => ({ e, at: (i + e / editors.length) * interval })),
  )
  events.sort((a, b) => a.at - b.at)
  for (const cursor of cursors) cursor.typed = 0
  let typed = 0
  for (const { e, at } of events) {
    const wait = started + at - performance.now()
    if (wait > 0) await sleep(wait)
    const editor = editors[e]!
    const text = editor.doc.getText('default')
    const cursor = cursors[e]!
    if (cursor.wordLeft === 0) {
      // Next word: jump somewhere else, type 3–8 letters, then a space.
      cursor.at = Math.floor(rand() * (text.length + 1))
      cursor.wordLeft = 4 + Math.floor(rand() * 6)
    }
    const char = cursor.wordLeft === 1 ? ' ' : String.fromCharCode(97 + Math.floor(rand() * 26))
    cursor.wordLeft--
    sent[e]![cursor.typed++] = performance.now()
    editor.doc.transact(() => text.insert(Math.min(cursor.at, text.length), char))
    cursor.at++
    typed++
    if (performance.now() - lastProgress > 15_000) {
      lastProgress = performance.now()
      progress(`typed ${typed}/${events.length} keystrokes`)
    }
  }
  const endedAt = Date.now()
  await Promise.all(editors.map((editor) => untilAcknowledged(editor.provider)))
  await Promise.race([arrived, sleep(10_000)])
  for (const off of detach) off()
  return { latencies, slow, keystrokes: typed, missing: pending, startedAt, endedAt }
}
