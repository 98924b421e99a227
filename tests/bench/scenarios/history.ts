import { join } from 'node:path'
import type { HistoryClientArgs, LoadResult, RestoreSeen } from '../clients/history-clients.ts'
import type { SeedArgs, SeedReport } from '../clients/history-seed.ts'
import { Child } from '../lib/children.ts'
import { random } from '../lib/client.ts'
import { wallNow } from '../lib/ipc.ts'
import { log } from '../lib/log.ts'
import { backgroundLoad } from '../lib/machine.ts'
import type { Options } from '../lib/options.ts'
import { median, type Summary, summarize } from '../lib/stats.ts'
import { clientFile, startTarget } from '../lib/targets.ts'
import { digest } from '../targets/common.ts'

const VARIANTS = ['checkpoints', 'log', 'blob'] as const
type Variant = (typeof VARIANTS)[number]

export interface HistoryReport {
  config: Options['history']
  seed?: SeedReport
  /** ms from connecting a fresh client to synced, per variant (a never-loaded document each time). */
  coldLoad: Partial<Record<Variant, { runs: number[]; median: number }>>
  coldLoadRatioToBlob?: number
  versionReads?: { version: Summary; current: Summary; p99Ratio: number; probeMatches: boolean } | RouteMissing
  restore?:
    | {
        clients: number
        seq: number
        /** From the request to its 201, to the first and the last client showing the version. */
        responseMs: number
        firstClientMs: number
        lastClientMs: number
        /** Bytes of the revert update every client receives. */
        updateBytes: number
        /** A one-character edit's fan-out to the same number of clients: ms until the last has it (median). */
        smallRoundMs: number
        /** One fan-out round of the revert update itself, sent by a client: ms until the last other client shows it. */
        fanoutRoundMs: number
        /** Last client − 201 response, in fan-out rounds of the restore's size (goal ≤ 1). */
        roundsAfterApplied: number
      }
    | RouteMissing
  backgroundCpu?: number
}

interface RouteMissing {
  missing: string
}

const READ_DOCUMENT = 'history-read'
const RESTORE_DOCUMENT = 'history-restore'
const REFERENCE_DOCUMENT = 'history-restore-reference'

/**
 * Scenario 4 (target A only; the peers keep no history): a document of 10,000 log rows (about 1 MB),
 * loaded cold with the log writer's checkpoints, from every row, and from one full-state row;
 * versions read over REST at random seqs against the current content; and a restore of the whole
 * document to an early version while 20 clients are connected.
 */
export async function runHistory(options: Options): Promise<HistoryReport> {
  const config = options.history
  const report: HistoryReport = { config, coldLoad: {} }
  if (!options.targets.includes('ours')) {
    log('history: needs target ours; skipped')
    return report
  }
  const copies = Object.fromEntries(
    VARIANTS.map((v) => [v, Array.from({ length: config.loads + 1 }, (_, i) => `history-${v}-${i}`)]),
  ) as Record<Variant, string[]>
  copies.checkpoints.push(READ_DOCUMENT, RESTORE_DOCUMENT, REFERENCE_DOCUMENT)
  const target = await startTarget('ours', { profileDir: options.profileDir, profileName: 'history-ours' })
  let seeder: Child | undefined
  let clients: Child | undefined
  try {
    const probeSeq = Math.floor(config.rows / 2)
    const seedArgs: SeedArgs = { file: join(target.dir, 'bench.db'), rows: config.rows, copies, probeSeq, randomSeed: 7 }
    seeder = new Child('history seeder', clientFile('history-seed'), seedArgs)
    await seeder.event('ready', 60_000)
    log(`history: writing ${config.rows} log rows through the update log`)
    const seed = await seeder.request<SeedReport>('run', null, 600_000)
    report.seed = seed
    await seeder.stop('close', null, 10_000)
    log(
      `history: ${seed.rows} rows (${kib(seed.logBytes)}), ${seed.checkpoints} checkpoints (${kib(seed.checkpointBytes)}), ` +
        `state ${kib(seed.stateBytes)}, seeded in ${(seed.seedMs / 1000).toFixed(1)} s`,
    )
    const base = target.wsUrl.replace(/^ws/, 'http').replace(/\/collab$/, '')
    const token = await signIn(base)
    report.backgroundCpu = await backgroundLoad('history')

    clients = new Child('history clients', clientFile('history-clients'), { wsUrl: target.wsUrl } satisfies HistoryClientArgs)
    await clients.event('ready', 60_000)
    await coldLoads(clients, copies, seed, report)
    report.versionReads = await versionReads(base, token, seed, config.reads)
    report.restore = await restore(base, token, clients, seed, probeSeq, config.clients)
    return report
  } finally {
    await seeder?.kill()
    await clients?.kill()
    await target.stop().catch(() => undefined)
  }
}

async function coldLoads(clients: Child, copies: Record<Variant, string[]>, seed: SeedReport, report: HistoryReport) {
  const runs: Record<Variant, number[]> = { checkpoints: [], log: [], blob: [] }
  // The first round warms the server's code paths and is not counted; the order rotates per round.
  for (let round = 0; round < copies.blob.length; round++) {
    for (let k = 0; k < VARIANTS.length; k++) {
      const variant = VARIANTS[(round + k) % VARIANTS.length]!
      const loaded = await clients.request<LoadResult>('load', { documentName: copies[variant][round] }, 120_000)
      if (loaded.length !== seed.final.length) throw new Error(`cold load of ${variant}: ${loaded.length} chars, expected ${seed.final.length}`)
      if (round > 0) runs[variant].push(loaded.ms)
    }
  }
  for (const variant of VARIANTS) report.coldLoad[variant] = { runs: runs[variant], median: median(runs[variant]) }
  report.coldLoadRatioToBlob = report.coldLoad.checkpoints!.median / report.coldLoad.blob!.median
  log(
    `history: cold load median ${VARIANTS.map((v) => `${v} ${report.coldLoad[v]!.median.toFixed(1)} ms`).join(', ')}` +
      ` (checkpoints / blob ${report.coldLoadRatioToBlob.toFixed(2)}×)`,
  )
}

async function versionReads(base: string, token: string, seed: SeedReport, reads: number): Promise<HistoryReport['versionReads']> {
  const url = (path: string) => `${base}/api/v1/documents/${READ_DOCUMENT}${path}`
  const probe = await get(url(`/versions/${Math.floor(seed.rows / 2)}?format=text`), token)
  if (probe.missing) return { missing: probe.missing }
  const probeMatches = probe.text !== undefined && digest(probe.text).sha256 === seed.probe.sha256
  const next = random(11)
  const version: number[] = []
  const current: number[] = []
  // Interleaved, so both see the same machine; 5 warm-up reads of each first.
  for (let i = -5; i < reads; i++) {
    const seq = 1 + Math.floor(next() * seed.rows)
    const v = await get(url(`/versions/${seq}?format=yjs`), token)
    const c = await get(url('/content?format=yjs'), token)
    if (i >= 0) {
      version.push(v.ms)
      current.push(c.ms)
    }
  }
  const result = { version: summarize(version), current: summarize(current), p99Ratio: 0, probeMatches }
  result.p99Ratio = result.version.p99 / result.current.p99
  log(
    `history: version reads p50 ${result.version.p50.toFixed(1)} / p99 ${result.version.p99.toFixed(1)} ms, ` +
      `current p50 ${result.current.p50.toFixed(1)} / p99 ${result.current.p99.toFixed(1)} ms (p99 ${result.p99Ratio.toFixed(2)}×)`,
  )
  return result
}

async function restore(
  base: string,
  token: string,
  clients: Child,
  seed: SeedReport,
  seq: number,
  count: number,
): Promise<HistoryReport['restore']> {
  const auth = { headers: { authorization: `Bearer ${token}` } }
  // The reference, on an identical copy: one fan-out round of the very update a restore sends, made
  // by a client (it reverts locally the way the server does, then its provider sends the update).
  await clients.request('connect', { documentName: REFERENCE_DOCUMENT, clients: count }, 120_000)
  const smallRoundMs = median(await clients.request<number[]>('fanout', { edits: 20 }, 120_000))
  const version = await fetch(`${base}/api/v1/documents/${REFERENCE_DOCUMENT}/versions/${seq}?format=yjs`, auth)
  const versionBody = Buffer.from(await version.arrayBuffer())
  if (version.status === 404 && versionBody.toString().includes('Route ')) return { missing: 'GET /documents/:id/versions/:seq' }
  const reference = await clients.request<{ roundMs: number; updateBytes: number }>(
    'revert',
    { version: versionBody.toString('base64'), expected: seed.probe },
    120_000,
  )
  await clients.request('disconnect')

  const { connectMs } = await clients.request<{ connectMs: number }>('connect', { documentName: RESTORE_DOCUMENT, clients: count }, 120_000)
  log(`history: ${count} clients on ${RESTORE_DOCUMENT} in ${connectMs.toFixed(0)} ms`)
  await clients.request('watch', { expected: seed.probe })
  const seen = clients.event<RestoreSeen>('restored', 120_000)
  seen.catch(() => undefined)
  const started = wallNow()
  const response = await fetch(`${base}/api/v1/documents/${RESTORE_DOCUMENT}/versions/${seq}/restore`, { method: 'POST', ...auth })
  const responseMs = wallNow() - started
  const body = await response.text()
  if (response.status === 404 && body.includes('Route ')) return { missing: 'POST /documents/:id/versions/:seq/restore' }
  if (response.status !== 201) throw new Error(`restore: ${response.status} ${body}`)
  const { at } = await seen
  const first = Math.min(...at) - started
  const last = Math.max(...at) - started
  const result = {
    clients: count,
    seq,
    responseMs,
    firstClientMs: first,
    lastClientMs: last,
    updateBytes: reference.updateBytes,
    smallRoundMs,
    fanoutRoundMs: reference.roundMs,
    roundsAfterApplied: Math.max(0, last - responseMs) / reference.roundMs,
  }
  log(
    `history: restore of a ${kib(seed.stateBytes)} document (a ${kib(reference.updateBytes)} update): 201 after ` +
      `${responseMs.toFixed(0)} ms, clients show it after ${first.toFixed(0)}–${last.toFixed(0)} ms; the same update ` +
      `sent by a client reaches all in ${reference.roundMs.toFixed(1)} ms (one character: ${smallRoundMs.toFixed(1)} ms)`,
  )
  return result
}

async function signIn(base: string): Promise<string> {
  // The account target A registers for its bench clients (targets/ours.ts).
  const response = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'bench@example.test', password: 'bench-password' }),
  })
  if (response.status !== 200) throw new Error(`bench sign-in: ${response.status} ${await response.text()}`)
  return ((await response.json()) as { accessToken: string }).accessToken
}

/** A timed GET; a route the server does not have yet is reported, not thrown. */
async function get(url: string, token: string): Promise<{ ms: number; text?: string; missing?: string }> {
  const started = performance.now()
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
  const body = Buffer.from(await response.arrayBuffer())
  const ms = performance.now() - started
  if (response.status === 404 && body.toString().includes('Route ')) return { ms, missing: `GET ${new URL(url).pathname}` }
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status} ${body.toString().slice(0, 200)}`)
  return { ms, text: response.headers.get('content-type')?.startsWith('text/') ? body.toString() : undefined }
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`

export function renderHistory(r: HistoryReport): string {
  const seed = r.seed
  if (!seed) return '### 4. Version history — not run (needs target ours)'
  const lines = [
    `### 4. Version history — ${seed.rows.toLocaleString('en')} log rows (${kib(seed.logBytes)}), ` +
      `${seed.checkpoints} checkpoints (${kib(seed.checkpointBytes)}), final state ${kib(seed.stateBytes)}, ` +
      `${seed.final.length.toLocaleString('en')} chars`,
    '',
    '| measure | value | reference | ratio | goal |',
    '|---|---:|---:|---:|---|',
  ]
  const ms = (v: number) => `${v.toFixed(1)} ms`
  const cp = r.coldLoad.checkpoints
  const blob = r.coldLoad.blob
  const all = r.coldLoad.log
  if (cp && blob && all) {
    const ratio = cp.median / blob.median
    lines.push(`| cold load, checkpoints + rows after (median of ${cp.runs.length}) | ${ms(cp.median)} | one full-state row ${ms(blob.median)} | ${ratio.toFixed(2)}× | ≤ 1.5×: ${met(ratio <= 1.5)} |`)
    lines.push(`| cold load, replaying every row | ${ms(all.median)} | one full-state row ${ms(blob.median)} | ${(all.median / blob.median).toFixed(2)}× | |`)
  }
  const reads = r.versionReads
  if (reads && 'missing' in reads) lines.push(`| version reads | route missing: ${reads.missing} | | | – |`)
  else if (reads) {
    lines.push(`| version read at a random seq, p50 (yjs, ${reads.version.count} reads) | ${ms(reads.version.p50)} | current content ${ms(reads.current.p50)} | ${(reads.version.p50 / reads.current.p50).toFixed(2)}× | |`)
    lines.push(`| version read at a random seq, p99 | ${ms(reads.version.p99)} | current content ${ms(reads.current.p99)} | ${reads.p99Ratio.toFixed(2)}× | ≤ 2×: ${met(reads.p99Ratio <= 2)} |`)
    lines.push(`| version ${Math.floor(seed.rows / 2)} as text equals the text typed by then | ${reads.probeMatches ? 'yes' : '**NO**'} | | | |`)
  }
  const restore = r.restore
  if (restore && 'missing' in restore) lines.push(`| restore | route missing: ${restore.missing} | | | – |`)
  else if (restore) {
    lines.push(`| restore to version ${restore.seq}, ${restore.clients} clients: 201 | ${ms(restore.responseMs)} | | | |`)
    lines.push(
      `| … first / last client shows it | ${ms(restore.firstClientMs)} / ${ms(restore.lastClientMs)} | ` +
        `the same ${kib(restore.updateBytes)} update sent by a client: ${ms(restore.fanoutRoundMs)} to all (1 char: ${ms(restore.smallRoundMs)}) | ` +
        `${restore.roundsAfterApplied.toFixed(2)} rounds after the 201 | ≤ 1 round: ${met(restore.roundsAfterApplied <= 1)} |`,
    )
  }
  return lines.join('\n')
}

const met = (ok: boolean) => (ok ? 'met' : '**missed**')

/** The issue's three history goals, for the run's goal table. */
export function historyGoals(r: HistoryReport | undefined): { goal: string; met: boolean | undefined; detail: string }[] {
  if (!r?.seed) return []
  const reads = r.versionReads
  const restore = r.restore
  return [
    {
      goal: 'history: cold load with checkpoints ≤ 1.5× one full-state row',
      met: r.coldLoadRatioToBlob === undefined ? undefined : r.coldLoadRatioToBlob <= 1.5,
      detail: r.coldLoadRatioToBlob === undefined ? 'not measured' : `${r.coldLoadRatioToBlob.toFixed(2)}×`,
    },
    {
      goal: "history: a version read's p99 ≤ 2× reading the current content",
      met: !reads || 'missing' in reads ? undefined : reads.p99Ratio <= 2,
      detail: !reads ? 'not measured' : 'missing' in reads ? `route missing: ${reads.missing}` : `${reads.p99Ratio.toFixed(2)}×`,
    },
    {
      goal: 'history: a restore reaches every client within one fan-out round after it is applied',
      met: !restore || 'missing' in restore ? undefined : restore.roundsAfterApplied <= 1,
      detail: !restore
        ? 'not measured'
        : 'missing' in restore
          ? `route missing: ${restore.missing}`
          : `${restore.roundsAfterApplied.toFixed(2)} rounds (last client ${restore.lastClientMs.toFixed(0)} ms, 201 at ${restore.responseMs.toFixed(0)} ms)`,
    },
  ]
}
