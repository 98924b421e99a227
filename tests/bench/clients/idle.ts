import { type BenchClient, connect } from '../lib/client.ts'
import { childArgs, progress, serveLoad } from '../lib/ipc.ts'

/**
 * Load client for the capacity scenario: `sockets` idle `HocuspocusProvider`s, each with its own
 * WebSocket, spread round-robin over `documents` documents. Connects in batches of `batch` (all
 * synced before the next batch) and reports the time until every one is synced; then they stay
 * open, doing nothing, until `close`.
 */
export interface IdleArgs {
  wsUrl: string
  prefix: string
  sockets: number
  documents: number
  batch: number
}

const args = childArgs<IdleArgs>()
const clients: BenchClient[] = []
const started = performance.now()
for (let i = 0; i < args.sockets; i += args.batch) {
  const batch = Array.from({ length: Math.min(args.batch, args.sockets - i) }, (_, j) =>
    connect(args.wsUrl, `${args.prefix}-${(i + j) % args.documents}`),
  )
  clients.push(...batch)
  await Promise.all(batch.map((c) => c.synced))
}
const connectMs = performance.now() - started
progress(`${args.sockets} sockets over ${args.documents} documents synced in ${connectMs.toFixed(0)} ms`)

serveLoad(clients, undefined, { connectMs })
