import type { FanoutArgs, FanoutResult } from '../clients/fanout.ts'
import { Child } from '../lib/children.ts'
import { log } from '../lib/log.ts'
import { backgroundLoad } from '../lib/machine.ts'
import type { Options } from '../lib/options.ts'
import { median, type Summary, summarize } from '../lib/stats.ts'
import { clientFile, startTarget, type TargetName } from '../lib/targets.ts'

export interface RoundResult {
  /** Over every (edit, reader) pair of the round. */
  latency: Summary
  /** Per edit, the time until the last reader had it. */
  lastReader: Summary
  missing: number
  serverCpuMsPerEdit: number
  connectMs: number
  /** Share of all cores busy with other work just before the run. */
  backgroundCpu?: number
}

export interface FanoutCell {
  /** Median over rounds of each round's p50 and p99 (one disturbed round doesn't decide). */
  p50: number
  p99: number
  lastReaderP50: number
  lastReaderP99: number
  missing: number
  serverCpuMsPerEdit: number
  /** Every round's samples together. */
  pooled: Summary
  rounds: RoundResult[]
}

export interface FanoutReport {
  config: Options['fanout']
  rows: { readers: number; targets: Partial<Record<TargetName, FanoutCell>>; p99RatioOursToBare?: number }[]
}

export async function runFanout(options: Options): Promise<FanoutReport> {
  const { readers: readerCounts, edits, warmup, intervalMs, rounds } = options.fanout
  const results = new Map<string, { rounds: RoundResult[]; latencies: number[] }>()
  let run = 0
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so each target runs first, second and last equally often.
    const shift = round % options.targets.length
    const order = [...options.targets.slice(shift), ...options.targets.slice(0, shift)]
    for (const readers of readerCounts) {
      for (const name of order) {
        run++
        const what = `fanout round ${round + 1}/${rounds}: ${name}, ${readers} readers`
        const backgroundCpu = await backgroundLoad(what)
        log(what)
        const target = await startTarget(name, {
          profileDir: options.profileDir,
          profileName: `fanout-${name}-${readers}-r${round + 1}`,
        })
        let worker: Child | undefined
        try {
          const args: FanoutArgs = {
            wsUrl: target.wsUrl,
            documentName: `fanout-${run}`,
            readers,
            edits,
            warmup,
            intervalMs,
          }
          worker = new Child(`fanout ${name} N=${readers}`, clientFile('fanout'), args)
          await worker.event('ready', 120_000)
          const before = await target.stats()
          const result = await worker.request<FanoutResult>('run', null, 120_000 + edits * intervalMs)
          const after = await target.stats()
          const roundResult: RoundResult = {
            latency: summarize(result.latencies),
            lastReader: summarize(result.lastReader),
            missing: result.missing,
            serverCpuMsPerEdit: (after.cpuMs - before.cpuMs) / (edits + warmup),
            connectMs: result.connectMs,
            backgroundCpu,
          }
          const key = `${name}/${readers}`
          const entry = results.get(key) ?? { rounds: [], latencies: [] }
          entry.rounds.push(roundResult)
          for (const value of result.latencies) entry.latencies.push(value)
          results.set(key, entry)
          const { p50, p99 } = roundResult.latency
          log(`  p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, missing ${result.missing}`)
        } finally {
          await worker?.stop('close', null, 10_000).catch(() => undefined)
          await target.stop()
        }
      }
    }
  }
  const rows: FanoutReport['rows'] = readerCounts.map((readers) => {
    const targets: Partial<Record<TargetName, FanoutCell>> = {}
    for (const name of options.targets) {
      const entry = results.get(`${name}/${readers}`)
      if (!entry) continue
      const of = (pick: (r: RoundResult) => number) => median(entry.rounds.map(pick))
      targets[name] = {
        p50: of((r) => r.latency.p50),
        p99: of((r) => r.latency.p99),
        lastReaderP50: of((r) => r.lastReader.p50),
        lastReaderP99: of((r) => r.lastReader.p99),
        missing: entry.rounds.reduce((sum, r) => sum + r.missing, 0),
        serverCpuMsPerEdit: of((r) => r.serverCpuMsPerEdit),
        pooled: summarize(entry.latencies),
        rounds: entry.rounds,
      }
    }
    const ours = targets.ours?.p99
    const bare = targets.bare?.p99
    return { readers, targets, p99RatioOursToBare: ours && bare ? ours / bare : undefined }
  })
  return { config: options.fanout, rows }
}
