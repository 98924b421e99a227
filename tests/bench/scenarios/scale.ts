import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { startPrivateRedis } from '../../setup/redis.ts'
import type { FanoutArgs, FanoutResult } from '../clients/fanout.ts'
import type { PacedArgs } from '../clients/paced.ts'
import { Child, registerTempDir, removeTempDir } from '../lib/children.ts'
import { log } from '../lib/log.ts'
import { backgroundLoad } from '../lib/machine.ts'
import type { Options } from '../lib/options.ts'
import type { Results } from '../lib/report.ts'
import { median, summarize } from '../lib/stats.ts'
import { clientFile, type StartedTarget, startTarget } from '../lib/targets.ts'
import { CAPACITY_ENV, measure } from './capacity.ts'

/**
 * Scale-out (ours only): two instances of A in multi-instance mode, one SQLite file and one private
 * redis-server (started here, stopped at the end), fresh instances per round. Both instances run
 * in both modes, so "one" differs from "two" only in where the clients connect:
 * - fan-out: the writer on A and `readers` readers on A only ("one") or alternating A / B ("two");
 *   p99 over every (edit, reader) pair;
 * - paced: `documents` × 2 clients sending their next one-character edit when the last is
 *   acknowledged, both clients of a document on A ("one") or one on A and one on B ("two");
 *   updates/s, server CPU (A + B) per 1,000 updates, and Redis PUBLISH calls (and all commands)
 *   per update from `INFO commandstats`.
 * The modes take turns in an order that flips every round.
 */
type Mode = 'one' | 'two'

export interface ScaleFanoutSample {
  p50: number
  p99: number
  missing: number
}
export interface ScalePacedSample {
  updatesPerSecond: number
  cpuMsPer1kUpdates: number
  publishesPerUpdate: number
  commandsPerUpdate: number
  converged: boolean
  backgroundCpu?: number
}
export interface ScaleReport {
  config: Options['scale']
  fanout: Record<Mode, ScaleFanoutSample[]>
  paced: Record<Mode, ScalePacedSample[]>
  /** Median over rounds of each round's two / one ratio. */
  fanoutP99Ratio: number
  pacedThroughputRatio: number
  publishesPerUpdate: number
  commandsPerUpdate: number
}

async function commandStats(redis: Redis): Promise<{ publish: number; all: number }> {
  const info = await redis.info('commandstats')
  let publish = 0
  let all = 0
  for (const match of info.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm)) {
    // The reading connection's own INFO calls are not the servers' traffic.
    if (match[1] === 'info') continue
    all += Number(match[2])
    if (match[1] === 'publish' || match[1] === 'spublish') publish += Number(match[2])
  }
  return { publish, all }
}

async function fanout(
  a: StartedTarget,
  b: StartedTarget,
  mode: Mode,
  config: Options['scale'],
  run: number,
): Promise<ScaleFanoutSample> {
  await backgroundLoad(`scale fan-out ${mode}`)
  const args: FanoutArgs = {
    wsUrl: a.wsUrl,
    readerUrls: mode === 'one' ? [a.wsUrl] : [a.wsUrl, b.wsUrl],
    documentName: `scale-fanout-${run}`,
    readers: config.readers,
    edits: config.edits,
    warmup: 10,
    intervalMs: 20,
  }
  const worker = new Child(`scale fanout ${mode}`, clientFile('fanout'), args)
  try {
    await worker.event('ready', 120_000)
    const result = await worker.request<FanoutResult>('run', null, 120_000 + config.edits * 20)
    const { p50, p99 } = summarize(result.latencies)
    log(`  fan-out ${mode}: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, missing ${result.missing}`)
    return { p50, p99, missing: result.missing }
  } finally {
    await worker.stop('close', null, 10_000).catch(() => undefined)
  }
}

async function paced(
  a: StartedTarget,
  b: StartedTarget,
  redis: Redis,
  mode: Mode,
  config: Options['scale'],
  run: number,
): Promise<ScalePacedSample> {
  const backgroundCpu = await backgroundLoad(`scale paced ${mode}`)
  const args: PacedArgs = {
    urls: [a.wsUrl, mode === 'one' ? a.wsUrl : b.wsUrl],
    prefix: `scale-paced-${run}`,
    documents: config.documents,
    warmupSeconds: 2,
    seconds: config.seconds,
  }
  const client = new Child(`scale paced ${mode}`, clientFile('paced'), args)
  try {
    await client.event('ready', 120_000)
    // Server CPU of both instances and Redis counters, read at the edges of the measured window.
    const readings: { publish: number; all: number }[] = []
    const stats = async () => {
      const [sa, sb, r] = await Promise.all([a.stats(), b.stats(), commandStats(redis)])
      readings.push(r)
      return { cpuMs: sa.cpuMs + sb.cpuMs }
    }
    const result = await measure(client, stats, config.seconds)
    const sample: ScalePacedSample = {
      updatesPerSecond: result.updatesPerSecond,
      cpuMsPer1kUpdates: result.cpuMsPer1kUpdates,
      publishesPerUpdate: (readings[1]!.publish - readings[0]!.publish) / result.updates,
      commandsPerUpdate: (readings[1]!.all - readings[0]!.all) / result.updates,
      converged: result.converged,
      backgroundCpu,
    }
    log(
      `  paced ${mode}: ${sample.updatesPerSecond.toFixed(0)} updates/s, ${sample.cpuMsPer1kUpdates.toFixed(0)} ms CPU/1k (A+B), ` +
        `${sample.publishesPerUpdate.toFixed(2)} PUBLISH / ${sample.commandsPerUpdate.toFixed(2)} Redis commands per update, converged ${sample.converged}`,
    )
    return sample
  } finally {
    await client.stop('close', null, 30_000).catch(() => undefined)
  }
}

export async function runScale(options: Options): Promise<ScaleReport> {
  const config = options.scale
  const redisServer = await startPrivateRedis()
  const redis = new Redis(redisServer.url, { lazyConnect: true })
  const fanoutSamples: Record<Mode, ScaleFanoutSample[]> = { one: [], two: [] }
  const pacedSamples: Record<Mode, ScalePacedSample[]> = { one: [], two: [] }
  let run = 0
  try {
    await redis.connect()
    for (let round = 0; round < config.rounds; round++) {
      const modes: Mode[] = round % 2 === 0 ? ['one', 'two'] : ['two', 'one']
      log(`scale round ${round + 1}/${config.rounds}: ${modes.join(', ')}`)
      const dir = registerTempDir(mkdtempSync(join(tmpdir(), 'bench-scale-')))
      const env = {
        ...CAPACITY_ENV,
        REDIS_URL: redisServer.url,
        REDIS_KEY_PREFIX: `bench${round}`,
        AUTH_SECRET: randomBytes(36).toString('base64url'),
      }
      const started: StartedTarget[] = []
      try {
        // One after the other: the first migrates the shared database.
        started.push(await startTarget('ours', { dir, env, profileDir: options.profileDir, profileName: `scale-a-r${round + 1}` }))
        started.push(await startTarget('ours', { dir, env, profileDir: options.profileDir, profileName: `scale-b-r${round + 1}` }))
        const [a, b] = started as [StartedTarget, StartedTarget]
        for (const mode of modes) fanoutSamples[mode].push(await fanout(a, b, mode, config, ++run))
        for (const mode of modes) pacedSamples[mode].push(await paced(a, b, redis, mode, config, ++run))
      } finally {
        for (const target of started.reverse()) await target.stop().catch(() => undefined)
        removeTempDir(dir)
      }
    }
  } finally {
    redis.disconnect()
    await redisServer.stop()
  }
  const ratio = (two: number[], one: number[]) => median(two.map((v, i) => v / one[i]!))
  return {
    config,
    fanout: fanoutSamples,
    paced: pacedSamples,
    fanoutP99Ratio: ratio(fanoutSamples.two.map((s) => s.p99), fanoutSamples.one.map((s) => s.p99)),
    pacedThroughputRatio: ratio(
      pacedSamples.two.map((s) => s.updatesPerSecond),
      pacedSamples.one.map((s) => s.updatesPerSecond),
    ),
    publishesPerUpdate: median(pacedSamples.two.map((s) => s.publishesPerUpdate)),
    commandsPerUpdate: median(pacedSamples.two.map((s) => s.commandsPerUpdate)),
  }
}

export function renderScale(report: ScaleReport): string {
  const m = (values: number[], digits: number) => median(values).toFixed(digits)
  const { fanout: f, paced: p } = report
  return [
    `### Scale-out: two instances (one SQLite file, one Redis), ${report.config.rounds} interleaved rounds, medians`,
    '',
    '| measure | all on A | spread over A and B | median ratio |',
    '|---|---|---|---|',
    `| fan-out ${report.config.readers} readers: p50 ms | ${m(f.one.map((s) => s.p50), 2)} | ${m(f.two.map((s) => s.p50), 2)} | |`,
    `| fan-out ${report.config.readers} readers: p99 ms | ${m(f.one.map((s) => s.p99), 2)} | ${m(f.two.map((s) => s.p99), 2)} | ${report.fanoutP99Ratio.toFixed(2)}× |`,
    `| paced ${report.config.documents} docs × 2: updates/s | ${m(p.one.map((s) => s.updatesPerSecond), 0)} | ${m(p.two.map((s) => s.updatesPerSecond), 0)} | ${report.pacedThroughputRatio.toFixed(2)}× |`,
    `| paced: server CPU ms per 1k updates (A+B) | ${m(p.one.map((s) => s.cpuMsPer1kUpdates), 0)} | ${m(p.two.map((s) => s.cpuMsPer1kUpdates), 0)} | |`,
    `| paced: Redis PUBLISH per update | ${m(p.one.map((s) => s.publishesPerUpdate), 2)} | ${m(p.two.map((s) => s.publishesPerUpdate), 2)} | |`,
    `| paced: Redis commands per update | ${m(p.one.map((s) => s.commandsPerUpdate), 2)} | ${m(p.two.map((s) => s.commandsPerUpdate), 2)} | |`,
  ].join('\n')
}

export function scaleGoals(report: ScaleReport | undefined): Results['goals'] {
  if (!report) return []
  return [
    {
      goal: 'scale: cross-instance fan-out p99 ≤ 1.5× single-instance',
      met: report.fanoutP99Ratio <= 1.5,
      detail: `${report.fanoutP99Ratio.toFixed(2)}×`,
    },
    {
      goal: 'scale: paced throughput with two instances ≥ 0.8× one',
      met: report.pacedThroughputRatio >= 0.8,
      detail: `${report.pacedThroughputRatio.toFixed(2)}× (${report.publishesPerUpdate.toFixed(2)} Redis PUBLISH per update)`,
    },
  ]
}
