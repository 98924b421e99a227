import { type BenchClient, connect } from '../lib/client.ts'
import { childArgs, progress, serveLoad, sleep } from '../lib/ipc.ts'

/**
 * Load client for scenario 1: one writer and N readers on one document, all in this process so they
 * share one clock. Each edit appends one character; a reader's text length tells which edits it has.
 */
export interface FanoutArgs {
  wsUrl: string
  documentName: string
  readers: number
  edits: number
  warmup: number
  intervalMs: number
  /** Readers connect to these servers in turn (scale scenario: instances A and B); default `wsUrl`. */
  readerUrls?: string[]
}

export interface FanoutResult {
  /** Per (measured edit, reader): ms from the writer's transaction to the reader's update event. */
  latencies: number[]
  /** Per measured edit: ms until the last reader had it. */
  lastReader: number[]
  missing: number
  connectMs: number
}

const args = childArgs<FanoutArgs>()
const clients: BenchClient[] = []

const connectStarted = performance.now()
const writer = connect(args.wsUrl, args.documentName)
clients.push(writer)
await writer.synced
const readers: BenchClient[] = []
for (let i = 0; i < args.readers; i += 25) {
  const urls = args.readerUrls ?? [args.wsUrl]
  const batch = Array.from({ length: Math.min(25, args.readers - i) }, (_, j) =>
    connect(urls[(i + j) % urls.length]!, args.documentName, { awareness: false }),
  )
  readers.push(...batch)
  clients.push(...batch)
  await Promise.all(batch.map((c) => c.synced))
}
const connectMs = performance.now() - connectStarted
progress(`${args.readers} readers synced in ${connectMs.toFixed(0)} ms`)

serveLoad(clients, run)

async function run(): Promise<FanoutResult> {
  const total = args.warmup + args.edits
  const sent = new Float64Array(total)
  const latencies: number[] = []
  const lastReader = new Float64Array(total)
  let caughtUp = 0
  let allCaughtUp: () => void = () => {}
  const done = new Promise<void>((resolve) => {
    allCaughtUp = resolve
  })
  for (const reader of readers) {
    const text = reader.doc.getText('default')
    let seen = 0
    reader.doc.on('update', () => {
      const length = text.length
      if (length <= seen) return
      const now = performance.now()
      for (; seen < length && seen < total; seen++) {
        const latency = now - sent[seen]!
        if (seen >= args.warmup) latencies.push(latency)
        if (latency > lastReader[seen]!) lastReader[seen] = latency
      }
      if (seen === total && ++caughtUp === readers.length) allCaughtUp()
    })
  }
  const text = writer.doc.getText('default')
  const started = performance.now()
  for (let i = 0; i < total; i++) {
    // Drift-free schedule: edit i goes out at started + i × interval.
    const wait = started + i * args.intervalMs - performance.now()
    if (wait > 0) await sleep(wait)
    sent[i] = performance.now()
    writer.doc.transact(() => text.insert(text.length, 'x'))
  }
  await Promise.race([done, sleep(10_000)])
  const missing = readers.reduce((sum, r) => sum + (total - r.doc.getText('default').length), 0)
  return { latencies, lastReader: [...lastReader.slice(args.warmup)], missing, connectMs }
}
