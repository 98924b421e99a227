import { type BenchClient, connect } from '../lib/client.ts'
import { childArgs, emit, progress, serveLoad, sleep } from '../lib/ipc.ts'

/**
 * Load client for ack-paced throughput (capacity and scale scenarios): `documents` documents × 2
 * clients. Each client sends its next one-character edit as soon as the server acknowledged the
 * last (the provider's unsynced-changes count back at 0), so the rate is what the server sustains.
 * The first client of each document connects to `urls[0]`, the second to `urls[1]` (the same
 * server, or instances A and B).
 */
export interface PacedArgs {
  urls: [string, string]
  prefix: string
  documents: number
  warmupSeconds: number
  seconds: number
}

export interface PacedResult {
  /** Edits acknowledged during the measured window. */
  updates: number
  seconds: number
  /** Whether every document's two clients hold the same text at the end. */
  converged: boolean
}

const args = childArgs<PacedArgs>()
const clients: BenchClient[] = []
for (let d = 0; d < args.documents; d++) {
  for (const url of args.urls) clients.push(connect(url, `${args.prefix}-${d}`, { awareness: false }))
}
await Promise.all(clients.map((c) => c.synced))
progress(`${clients.length} clients synced`)

let acknowledged = 0
let running = false

function pace(client: BenchClient, index: number): void {
  const text = client.doc.getText('default')
  const send = () => {
    if (!running) return
    client.doc.transact(() => text.insert(text.length, String.fromCharCode(97 + (index % 26))))
  }
  client.provider.on('unsyncedChanges', ({ number }: { number: number }) => {
    if (number !== 0) return
    acknowledged++
    send()
  })
  send()
}

async function run(): Promise<PacedResult> {
  running = true
  clients.forEach(pace)
  await sleep(args.warmupSeconds * 1000)
  const from = acknowledged
  const started = performance.now()
  emit('window-start') // the parent reads the servers' CPU at the edges of the measured window
  await sleep(args.seconds * 1000)
  const updates = acknowledged - from
  const seconds = (performance.now() - started) / 1000
  emit('window-end')
  running = false
  // Let the last edits arrive, then compare each pair (bounded wait, not a correctness sleep).
  let converged = false
  const deadline = performance.now() + 10_000
  while (!converged && performance.now() < deadline) {
    await sleep(100)
    converged = true
    for (let i = 0; i < clients.length; i += 2) {
      if (clients[i]!.doc.getText('default').toString() !== clients[i + 1]!.doc.getText('default').toString()) {
        converged = false
        break
      }
    }
  }
  return { updates, seconds, converged }
}

serveLoad(clients, run)
