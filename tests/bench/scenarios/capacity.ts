import type { IdleArgs } from '../clients/idle.ts'
import type { PacedArgs, PacedResult } from '../clients/paced.ts'
import { Child } from '../lib/children.ts'
import { sleep } from '../lib/ipc.ts'
import { log } from '../lib/log.ts'
import { backgroundLoad } from '../lib/machine.ts'
import type { Options } from '../lib/options.ts'
import type { Results } from '../lib/report.ts'
import { median } from '../lib/stats.ts'
import { clientFile, startTarget, type TargetName } from '../lib/targets.ts'

/**
 * Capacity per instance, ours (A) beside bare Hocuspocus (B), interleaved rounds, each
 * measurement in a fresh server process:
 * - idle: N sockets (own WebSocket each) over 300 documents; RSS and CPU of the server after
 *   connecting minus before, per socket, and the time until all are synced;
 * - paced: 100 documents × 2 clients, each sending its next one-character edit when the last is
 *   acknowledged; updates/s and server CPU per 1,000 updates.
 * Target A runs with MAX_SOCKETS_PER_ADDRESS and MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS lifted
 * (all bench sockets come from 127.0.0.1; the defaults 1000 / 50 would refuse them).
 */
export const CAPACITY_ENV = { MAX_SOCKETS_PER_ADDRESS: '100000', MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS: '100000' }
const TARGETS: TargetName[] = ['ours', 'bare']

export interface IdleSample {
  startRssMb: number
  rssKbPerSocket: number
  cpuMsPerSocket: number
  connectMs: number
  backgroundCpu?: number
}
export interface PacedSample {
  updatesPerSecond: number
  cpuMsPer1kUpdates: number
  converged: boolean
  backgroundCpu?: number
}
export interface CapacityReport {
  config: Options['capacity']
  env: typeof CAPACITY_ENV
  idle: Record<string, Partial<Record<TargetName, IdleSample[]>>>
  paced: Partial<Record<TargetName, PacedSample[]>>
  /** Median over rounds of each round's ours / bare ratio. */
  ratios: Record<string, number>
}

async function idle(name: TargetName, sockets: number, documents: number, run: number, profileDir?: string): Promise<IdleSample> {
  const backgroundCpu = await backgroundLoad(`capacity idle ${name} ${sockets}`)
  const target = await startTarget(name, { env: CAPACITY_ENV, profileDir, profileName: `capacity-idle-${sockets}-${name}-${run}` })
  let client: Child | undefined
  try {
    await sleep(1_000) // let start-up work (migrations, first GC) settle before "before"
    const before = await target.stats()
    const args: IdleArgs = { wsUrl: target.wsUrl, prefix: `idle-${run}`, sockets, documents, batch: 50 }
    client = new Child(`idle ${name} ${sockets}`, clientFile('idle'), args)
    const { connectMs } = await client.event<{ connectMs: number }>('ready', 300_000)
    await sleep(2_000) // the last syncs' stores and awareness settle
    const after = await target.stats()
    const sample: IdleSample = {
      startRssMb: before.rssMb,
      rssKbPerSocket: ((after.rssMb - before.rssMb) * 1024) / sockets,
      cpuMsPerSocket: (after.cpuMs - before.cpuMs) / sockets,
      connectMs,
      backgroundCpu,
    }
    log(
      `  ${name} ${sockets} sockets: start ${sample.startRssMb.toFixed(1)} MB, ${sample.rssKbPerSocket.toFixed(1)} KB/socket, ` +
        `${sample.cpuMsPerSocket.toFixed(2)} ms CPU/socket, connect ${connectMs.toFixed(0)} ms`,
    )
    return sample
  } finally {
    await client?.stop('close', null, 30_000).catch(() => undefined)
    await target.stop()
  }
}

async function paced(name: TargetName, options: Options['capacity'], run: number, profileDir?: string): Promise<PacedSample> {
  const backgroundCpu = await backgroundLoad(`capacity paced ${name}`)
  const target = await startTarget(name, { env: CAPACITY_ENV, profileDir, profileName: `capacity-paced-${name}-${run}` })
  let client: Child | undefined
  try {
    const args: PacedArgs = {
      urls: [target.wsUrl, target.wsUrl],
      prefix: `paced-${run}`,
      documents: options.pairs,
      warmupSeconds: 2,
      seconds: options.seconds,
    }
    client = new Child(`paced ${name}`, clientFile('paced'), args)
    await client.event('ready', 120_000)
    const result = await measure(client, target.stats, options.seconds)
    const sample: PacedSample = { ...result, backgroundCpu }
    log(`  ${name} paced: ${sample.updatesPerSecond.toFixed(0)} updates/s, ${sample.cpuMsPer1kUpdates.toFixed(0)} ms CPU/1k, converged ${sample.converged}`)
    return sample
  } finally {
    await client?.stop('close', null, 30_000).catch(() => undefined)
    await target.stop()
  }
}

/** Runs a ready paced client; server CPU is summed over `stats` (one or several processes). */
export async function measure(
  client: Child,
  stats: () => Promise<{ cpuMs: number }>,
  seconds: number,
): Promise<{ updatesPerSecond: number; cpuMsPer1kUpdates: number; converged: boolean; updates: number }> {
  const running = client.request<PacedResult>('run', null, (seconds + 60) * 1000)
  await client.event('window-start', 60_000)
  const before = await stats()
  await client.event('window-end', (seconds + 60) * 1000)
  const after = await stats()
  const result = await running
  return {
    updates: result.updates,
    updatesPerSecond: result.updates / result.seconds,
    cpuMsPer1kUpdates: ((after.cpuMs - before.cpuMs) / result.updates) * 1000,
    converged: result.converged,
  }
}

export async function runCapacity(options: Options): Promise<CapacityReport> {
  const config = options.capacity
  const report: CapacityReport = { config, env: CAPACITY_ENV, idle: {}, paced: {}, ratios: {} }
  let run = 0
  for (let round = 0; round < config.rounds; round++) {
    const order = round % 2 === 0 ? TARGETS : [...TARGETS].reverse()
    log(`capacity round ${round + 1}/${config.rounds}: ${order.join(', ')}`)
    for (const sockets of config.sizes) {
      for (const name of order) {
        const cell = (report.idle[sockets] ??= {})
        ;(cell[name] ??= []).push(await idle(name, sockets, config.documents, ++run, options.profileDir))
      }
    }
    for (const name of order) (report.paced[name] ??= []).push(await paced(name, config, ++run, options.profileDir))
  }
  const ratio = (ours: number[] | undefined, bare: number[] | undefined) =>
    ours && bare ? median(ours.map((v, i) => v / bare[i]!)) : Number.NaN
  for (const sockets of config.sizes) {
    const { ours, bare } = report.idle[sockets] ?? {}
    for (const key of ['rssKbPerSocket', 'cpuMsPerSocket', 'connectMs', 'startRssMb'] as const)
      report.ratios[`idle${sockets}.${key}`] = ratio(ours?.map((s) => s[key]), bare?.map((s) => s[key]))
  }
  for (const key of ['updatesPerSecond', 'cpuMsPer1kUpdates'] as const)
    report.ratios[`paced.${key}`] = ratio(report.paced.ours?.map((s) => s[key]), report.paced.bare?.map((s) => s[key]))
  return report
}

const med = <T extends object>(samples: T[] | undefined, key: keyof T & string) =>
  samples ? median(samples.map((s) => s[key] as number)) : Number.NaN

export function renderCapacity(report: CapacityReport): string {
  const lines = [
    `### Capacity per instance (${report.config.rounds} interleaved rounds, medians; A with MAX_SOCKETS_PER_ADDRESS=` +
      `${report.env.MAX_SOCKETS_PER_ADDRESS}, MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS=${report.env.MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS})`,
    '',
    '| measure | A ours | B bare | median ratio A/B |',
    '|---|---|---|---|',
  ]
  for (const sockets of report.config.sizes) {
    const { ours, bare } = report.idle[sockets] ?? {}
    const row = (label: string, key: keyof IdleSample & string, digits: number) =>
      lines.push(
        `| ${label} | ${med(ours, key).toFixed(digits)} | ${med(bare, key).toFixed(digits)} | ${report.ratios[`idle${sockets}.${key}`]!.toFixed(2)}× |`,
      )
    row(`${sockets} idle sockets: RSS KB per socket`, 'rssKbPerSocket', 1)
    row(`${sockets} idle sockets: CPU ms per socket`, 'cpuMsPerSocket', 2)
    row(`${sockets} idle sockets: ms to connect all`, 'connectMs', 0)
    row(`${sockets} idle sockets: RSS MB at start`, 'startRssMb', 1)
  }
  const { ours, bare } = report.paced
  lines.push(
    `| paced ${report.config.pairs} docs × 2: updates/s | ${med(ours, 'updatesPerSecond').toFixed(0)} | ${med(bare, 'updatesPerSecond').toFixed(0)} | ${report.ratios['paced.updatesPerSecond']!.toFixed(2)}× |`,
    `| paced: CPU ms per 1k updates | ${med(ours, 'cpuMsPer1kUpdates').toFixed(0)} | ${med(bare, 'cpuMsPer1kUpdates').toFixed(0)} | ${report.ratios['paced.cpuMsPer1kUpdates']!.toFixed(2)}× |`,
  )
  return lines.join('\n')
}

export function capacityGoals(report: CapacityReport | undefined): Results['goals'] {
  if (!report) return []
  const goals: Results['goals'] = []
  for (const sockets of report.config.sizes) {
    const rss = report.ratios[`idle${sockets}.rssKbPerSocket`]!
    const cpu = report.ratios[`idle${sockets}.cpuMsPerSocket`]!
    goals.push(
      { goal: `capacity: RSS per socket at ${sockets} ≤ bare's`, detail: `${rss.toFixed(2)}×`, met: rss <= 1 },
      { goal: `capacity: CPU per socket at ${sockets} ≤ 1.2× bare's`, detail: `${cpu.toFixed(2)}×`, met: cpu <= 1.2 },
    )
  }
  const tput = report.ratios['paced.updatesPerSecond']!
  goals.push({ goal: 'capacity: paced throughput ≥ 1.0× bare', detail: `${tput.toFixed(2)}×`, met: tput >= 1 })
  return goals
}
