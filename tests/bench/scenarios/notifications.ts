import { join } from 'node:path'
import type {
  NotificationsClientArgs,
  NotificationsClientResult,
  NotificationsRunArgs,
} from '../clients/notifications-clients.ts'
import { Child } from '../lib/children.ts'
import { log } from '../lib/log.ts'
import { backgroundLoad } from '../lib/machine.ts'
import type { Options } from '../lib/options.ts'
import { type Summary, summarize } from '../lib/stats.ts'
import { clientFile, type StartedTarget, startTarget } from '../lib/targets.ts'
import {
  countWrites,
  type PassCounts,
  slowNearStores,
  storeTimes,
  storeToStream,
  untilDelivered,
  untilQuiet,
  type WriteCounts,
} from './notifications-counts.ts'
import { type Account, openStreams, registerAccounts, shareDocument, startReaders, startSinks } from './notifications-setup.ts'

const MODES = ['off', 'on'] as const
type Mode = (typeof MODES)[number]

export interface NotificationsRun {
  /** Keystroke → visible on each other editor and each watcher, over all of the mode's stretches. */
  latency: Summary
  keystrokes: number
  missing: number
  /** Pairs slower than `SLOW_MS`, how many of them were typed within 2.5 s after a store, and the slowest. */
  slow: ReturnType<typeof slowNearStores>
  typingSeconds: number
  /** Server CPU while the editors typed (ms). */
  serverCpuMs: number
  counts: WriteCounts
  /** `POST /notifications/read-all` calls made by the readers. */
  reads: number
  /** `document.edited` events that reached the open streams, and ms from the store to each. */
  streamEventsReceived: number
  storeToStream: Summary
  /** Webhooks received by the local endpoint (distinct `webhook-id`s) by type, and emails. */
  webhooks: Record<string, number>
  /** Outbox rows still pending when the run ended (the worker had a minute). */
  outboxPending: number
  emails: number
  setupSeconds: number
  /** Other work on the machine before each stretch. */
  backgroundCpu: (number | undefined)[]
}

export interface NotificationsReport {
  config: Options['notifications']
  /** The stretches of typing, in the order they ran. */
  order: Mode[]
  runs: Partial<Record<Mode, NotificationsRun>>
  /** Fan-out p99 with notifications on / off (goal ≤ 1.1). */
  p99Ratio?: number
}

/** Pairs slower than this are timed to tell whether they came with a store. */
export const SLOW_MS = 20

/** Server settings for both runs: the setup's REST calls come faster than the per-user limits allow. */
const SETUP_ENV = {
  AUTH_RATE_LIMIT_PER_MINUTE: '1000000',
  RATE_LIMIT_PER_MINUTE: '1000000',
  // The runs must not outlive their tokens (streams and sockets close at expiry).
  ACCESS_TOKEN_TTL_SECONDS: '86400',
}

/** A server with its document, people, streams and sync clients, and what its stretches measured. */
interface Prepared {
  mode: Mode
  target: StartedTarget
  sinks: Awaited<ReturnType<typeof startSinks>>
  streams?: Awaited<ReturnType<typeof openStreams>>
  clients?: Child
  base: string
  documentId: string
  readers: Account[]
  setupSeconds: number
  since: number
  latencies: number[]
  slow: { at: number; ms: number }[]
  keystrokes: number
  missing: number
  typingMs: number
  serverCpuMs: number
  reads: number
  backgroundCpu: (number | undefined)[]
}

/**
 * Scenario 5 (target A only): a document shared with 200 collaborators, 3 of them typing for 60 s
 * while 20 others read their inbox every 10 s and the rest leave it unread. Counts the inbox and outbox rows
 * written per stored log row, and compares the editors' fan-out with the same server whose
 * notifier is detached (`BENCH_NOTIFIER=off`, a bench-only switch in targets/ours.ts). Both
 * servers are set up first; then they take turns (off, on, on, off, …), each stretch followed by
 * its last store and the notifier's pass over it, so both see the same machine and neither
 * works while the other is measured. `configure` sets target A's environment for the next start.
 */
export async function runNotifications(options: Options, configure: (env: Record<string, string>) => void): Promise<NotificationsReport> {
  const config = options.notifications
  const order = Array.from({ length: config.rounds }, (_, r) => (r % 2 === 0 ? MODES : [...MODES].reverse())).flat()
  const report: NotificationsReport = { config, order, runs: {} }
  if (!options.targets.includes('ours')) {
    log('notifications: needs target ours; skipped')
    return report
  }
  const prepared: Partial<Record<Mode, Prepared>> = {}
  try {
    for (const mode of MODES) prepared[mode] = await prepare(options, mode, configure)
    for (const [i, mode] of order.entries()) {
      const warmup = order.indexOf(mode) === i ? Math.min(5, config.seconds / 5) : 0
      await stretch(prepared[mode]!, config.seconds, warmup, config.readEverySeconds)
    }
    for (const mode of MODES) report.runs[mode] = await finish(prepared[mode]!)
  } finally {
    for (const p of Object.values(prepared)) await close(p)
  }
  const { on, off } = report.runs
  if (on && off) report.p99Ratio = on.latency.p99 / off.latency.p99
  return report
}

async function prepare(options: Options, mode: Mode, configure: (env: Record<string, string>) => void): Promise<Prepared> {
  const config = options.notifications
  const sinks = await startSinks()
  configure({ ...SETUP_ENV, ...sinks.env, ...(mode === 'off' ? { BENCH_NOTIFIER: 'off' } : {}) })
  const target = await startTarget('ours', { profileDir: options.profileDir, profileName: `notifications-${mode}` }).catch(async (error) => {
    await sinks.close()
    throw error
  })
  const base = target.wsUrl.replace(/^ws/, 'http').replace(/\/collab$/, '')
  const p: Prepared = {
    ...{ mode, target, sinks, base, documentId: '', readers: [], setupSeconds: 0, since: 0 },
    ...{ latencies: [], slow: [], keystrokes: 0, missing: 0, typingMs: 0, serverCpuMs: 0, reads: 0, backgroundCpu: [] },
  }
  try {
    const started = performance.now()
    const [owner, ...people] = await registerAccounts(base, config.collaborators + 1)
    const editors = people.slice(0, config.editors)
    const watchers = people.slice(config.editors, config.editors + config.watchers)
    p.readers = people.slice(config.editors + config.watchers, config.editors + config.watchers + config.readers)
    p.documentId = await shareDocument(
      base,
      owner!,
      people.map((account, i) => ({ account, role: i < config.editors ? 'editor' : 'viewer' })),
    )
    p.streams = await openStreams(base, [...editors, ...watchers, ...p.readers])
    const args: NotificationsClientArgs = {
      wsUrl: target.wsUrl,
      documentName: p.documentId,
      editorTokens: editors.map((a) => a.token),
      watcherTokens: watchers.map((a) => a.token),
      keystrokesPerSecond: config.keystrokesPerSecond,
      slowMs: SLOW_MS,
      randomSeed: 5,
    }
    p.clients = new Child(`notifications clients (${mode})`, clientFile('notifications-clients'), args)
    await p.clients.event('ready', 120_000)
    p.setupSeconds = (performance.now() - started) / 1000
    log(`notifications ${mode}: ${people.length} collaborators registered and shared, clients synced in ${p.setupSeconds.toFixed(1)} s`)
    p.since = Date.now()
    return p
  } catch (error) {
    await close(p)
    throw error
  }
}

/** One stretch of typing on `p`'s server; then its last store and the notifier's pass over it. */
async function stretch(p: Prepared, seconds: number, warmupSeconds: number, readEverySeconds: number): Promise<void> {
  p.backgroundCpu.push(await backgroundLoad(`notifications ${p.mode}`))
  log(`notifications ${p.mode}: typing for ${seconds} s`)
  const before = await p.target.stats()
  const reading = startReaders(p.base, p.readers, readEverySeconds * 1000)
  const typed = await p.clients!.request<NotificationsClientResult>('run', { seconds, warmupSeconds } satisfies NotificationsRunArgs, (seconds + 120) * 1000)
  const after = await p.target.stats()
  p.reads += await reading.stop()
  p.latencies.push(...typed.latencies)
  p.slow.push(...typed.slow)
  p.keystrokes += typed.keystrokes
  p.missing += typed.missing
  p.typingMs += typed.endedAt - typed.startedAt
  p.serverCpuMs += after.cpuMs - before.cpuMs
  await p.target.child.request('flush', null, 120_000)
  await untilQuiet(join(p.target.dir, 'bench.db'))
}

async function finish(p: Prepared): Promise<NotificationsRun> {
  const file = join(p.target.dir, 'bench.db')
  const outboxPending = await untilDelivered(file)
  const counts = countWrites(file, p.documentId, p.since)
  const stored = storeTimes(file, p.documentId)
  const fromStore = storeToStream(stored, p.streams!.arrivals)
  const run: NotificationsRun = {
    latency: summarize(p.latencies),
    keystrokes: p.keystrokes,
    missing: p.missing,
    slow: slowNearStores(p.slow, stored),
    typingSeconds: p.typingMs / 1000,
    serverCpuMs: p.serverCpuMs,
    counts,
    reads: p.reads,
    streamEventsReceived: fromStore.length,
    storeToStream: summarize(fromStore),
    webhooks: Object.fromEntries([...p.sinks.received.webhooks].map(([kind, ids]) => [kind, ids.size])),
    outboxPending,
    emails: p.sinks.received.emails,
    setupSeconds: p.setupSeconds,
    backgroundCpu: p.backgroundCpu,
  }
  const inbox = inboxTotals(counts)
  log(
    `notifications ${p.mode}: fan-out p50 ${run.latency.p50.toFixed(1)} / p99 ${run.latency.p99.toFixed(1)} ms over ` +
      `${run.latency.count} (keystroke, receiver) pairs; ${counts.storedRows} stored rows, ${counts.passes.length} passes, ` +
      `inbox +${inbox.inserted} rows / ${inbox.updated} coalesced (read before: ${inbox.readBefore}), ` +
      `outbox ${counts.outboxRows} rows; server CPU ${(run.serverCpuMs / 1000).toFixed(1)} s`,
  )
  return run
}

async function close(p: Prepared): Promise<void> {
  p.streams?.close()
  await p.clients?.stop('close', null, 10_000).catch(() => undefined)
  await p.target.stop().catch(() => undefined)
  await p.sinks.close()
}

/** Sums over passes; `later` leaves out the first pass (everyone's first item is necessarily new). */
export function inboxTotals(counts: WriteCounts, later = false) {
  const passes = later ? counts.passes.slice(1) : counts.passes
  const sum = (pick: (pass: PassCounts) => number) => passes.reduce((total, pass) => total + pick(pass), 0)
  return {
    passes: passes.length,
    inserted: sum((pass) => pass.inserted),
    updated: sum((pass) => pass.updated),
    readBefore: sum((pass) => pass.readBefore),
    over: passes.filter((pass) => pass.inserted > pass.readBefore).length,
    maxWrites: Math.max(0, ...passes.map((pass) => pass.maxWritesPerRecipient)),
  }
}
