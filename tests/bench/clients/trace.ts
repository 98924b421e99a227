import { setImmediate as yieldToLoop } from 'node:timers/promises'
import * as Y from 'yjs'
import { type BenchClient, connect } from '../lib/client.ts'
import { childArgs, emit, progress, serve, wallNow } from '../lib/ipc.ts'
import { applyPatch, loadTrace } from '../lib/trace.ts'

/**
 * Scenario 3 processes. `floor`: applies the trace to a local Y.Doc (no network). `writer`: applies
 * it to a provider's document as fast as possible, one transaction per patch (the provider sends
 * each update as it happens). `reader`: a second client that reports when its text equals the end
 * content. Times are wall-clock so writer and reader (separate processes) compare.
 */
export interface TraceArgs {
  role: 'floor' | 'writer' | 'reader'
  limit?: number
  wsUrl?: string
  documentName?: string
}

export interface FloorResult {
  applyMs: number
  patches: number
  matches: boolean
}

export interface WriterResult {
  startedAt: number
  appliedAt: number
}

export interface ReaderStatus {
  length: number
  expectedLength: number
  updates: number
}

export interface ReaderDone {
  at: number
  updates: number
}

/** The writer yields to its event loop this often, so its socket drains while it edits. */
const YIELD_EVERY = 1_000

const args = childArgs<TraceArgs>()
const trace = loadTrace(args.limit)
let client: BenchClient | undefined

if (args.role === 'floor') {
  serve((command) => {
    if (command !== 'run') throw new Error(`unknown command ${command}`)
    const doc = new Y.Doc()
    const text = doc.getText('default')
    const started = performance.now()
    for (const patch of trace.patches) applyPatch(doc, text, patch)
    const applyMs = performance.now() - started
    const result: FloorResult = {
      applyMs,
      patches: trace.patches.length,
      matches: text.toString() === trace.endContent,
    }
    return result
  })
  emit('ready')
} else {
  client = connect(args.wsUrl!, args.documentName!)
  await client.synced
  if (args.role === 'writer') startWriter(client)
  else startReader(client)
}

function startWriter({ doc }: BenchClient): void {
  const text = doc.getText('default')
  serve(async (command) => {
    if (command === 'run') {
      const startedAt = wallNow()
      for (let i = 0; i < trace.patches.length; i++) {
        applyPatch(doc, text, trace.patches[i]!)
        if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop()
      }
      return { startedAt, appliedAt: wallNow() } satisfies WriterResult
    }
    if (command === 'close') return close()
    throw new Error(`unknown command ${command}`)
  })
  emit('ready')
}

function startReader({ doc, provider }: BenchClient): void {
  const text = doc.getText('default')
  const expectedLength = trace.endContent.length
  let updates = 0
  let checkScheduled = false
  let finished = false
  doc.on('update', (_update: Uint8Array, origin: unknown) => {
    if (origin === provider) updates++
    if (finished || checkScheduled || text.length !== expectedLength) return
    // Compare at most once per event-loop turn: the length can match before the text does.
    checkScheduled = true
    setImmediate(() => {
      checkScheduled = false
      if (finished || text.length !== expectedLength || text.toString() !== trace.endContent) return
      finished = true
      emit('done', { at: wallNow(), updates } satisfies ReaderDone)
    })
  })
  const timer = setInterval(() => {
    if (!finished && updates > 0)
      progress(`reader at ${text.length}/${expectedLength} chars, ${updates} updates`)
  }, 10_000)
  timer.unref()
  serve((command) => {
    if (command === 'status') return { length: text.length, expectedLength, updates } satisfies ReaderStatus
    if (command === 'close') return close()
    throw new Error(`unknown command ${command}`)
  })
  emit('ready')
}

function close(): null {
  client?.destroy()
  return null
}
