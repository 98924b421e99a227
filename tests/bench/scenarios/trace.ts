import type { FloorResult, ReaderDone, ReaderStatus, TraceArgs, WriterResult } from '../clients/trace.ts'
import { Child, TimeoutError, withTimeout } from '../lib/children.ts'
import { wallNow } from '../lib/ipc.ts'
import { log } from '../lib/log.ts'
import { backgroundLoad } from '../lib/machine.ts'
import { median } from '../lib/stats.ts'
import type { Options } from '../lib/options.ts'
import { clientFile, startTarget, type TargetName } from '../lib/targets.ts'
import { digest } from '../targets/common.ts'
import { loadTrace } from '../lib/trace.ts'

const FLOOR_RUNS = 3

export interface TraceCell {
  finished: boolean
  /** Writer's first edit → reader's text equals the end content. */
  endToEndMs?: number
  ratioToFloor?: number
  /** Time the writer spent applying (and handing to its socket) every patch. */
  writerApplyMs?: number
  /** Remote updates the reader applied (broadcasts after the server's merging). */
  readerUpdates?: number
  serverCpuMs?: number
  /** Where the reader was when the timeout hit. */
  readerAtTimeout?: ReaderStatus
  /** Text rebuilt from the database after shutdown equals the end content (storing targets). */
  persistedMatches?: boolean
  error?: string
  /** Share of all cores busy with other work just before the run. */
  backgroundCpu?: number
}

export interface TraceReport {
  patches: number
  endLength: number
  timeoutSeconds: number
  /** Median of `floorRunsMs`. */
  floor: FloorResult
  floorRunsMs: number[]
  floorBackgroundCpu?: number
  targets: Partial<Record<TargetName, TraceCell>>
}

export async function runTrace(options: Options): Promise<TraceReport> {
  const { limit, timeoutSeconds } = options.trace
  const { endContent } = loadTrace(limit)
  // The floor: a fresh process (as cold as the writer) applies the trace to a local Y.Doc. Median of
  // FLOOR_RUNS, since one cold run on a shared 2-core machine can be off by 2×.
  const floorBackgroundCpu = await backgroundLoad('trace floor')
  const floorRuns: FloorResult[] = []
  for (let i = 0; i < FLOOR_RUNS; i++) {
    const child = new Child('trace floor', clientFile('trace'), { role: 'floor', limit } satisfies TraceArgs)
    try {
      await child.event('ready', 60_000)
      floorRuns.push(await child.request<FloorResult>('run', null, 300_000))
    } finally {
      await child.kill()
    }
  }
  const floor: FloorResult = {
    applyMs: median(floorRuns.map((r) => r.applyMs)),
    patches: floorRuns[0]!.patches,
    matches: floorRuns.every((r) => r.matches),
  }
  log(
    `trace: in-process floor ${floor.applyMs.toFixed(0)} ms for ${floor.patches} patches ` +
      `(runs: ${floorRuns.map((r) => r.applyMs.toFixed(0)).join(', ')} ms; text matches: ${floor.matches})`,
  )
  const report: TraceReport = {
    patches: floor.patches,
    floorRunsMs: floorRuns.map((r) => r.applyMs),
    floorBackgroundCpu,
    endLength: endContent.length,
    timeoutSeconds,
    floor,
    targets: {},
  }
  for (const name of options.targets) {
    const backgroundCpu = await backgroundLoad(`trace ${name}`)
    log(`trace: ${name} (timeout ${timeoutSeconds} s)`)
    report.targets[name] = { ...(await runOne(name, options, floor, endContent)), backgroundCpu }
    const cell = report.targets[name]!
    log(
      cell.finished
        ? `  finished in ${cell.endToEndMs!.toFixed(0)} ms (${cell.ratioToFloor!.toFixed(2)}× floor)`
        : `  did not finish${cell.error ? `: ${cell.error}` : ''}`,
    )
  }
  return report
}

async function runOne(
  name: TargetName,
  options: Options,
  floor: FloorResult,
  endContent: string,
): Promise<TraceCell> {
  const { limit, timeoutSeconds } = options.trace
  const target = await startTarget(name, { profileDir: options.profileDir, profileName: `trace-${name}` })
  const base = { limit, wsUrl: target.wsUrl, documentName: 'trace' }
  const reader = new Child(`trace reader ${name}`, clientFile('trace'), {
    ...base,
    role: 'reader',
  } satisfies TraceArgs)
  const writer = new Child(`trace writer ${name}`, clientFile('trace'), {
    ...base,
    role: 'writer',
  } satisfies TraceArgs)
  let finished = false
  try {
    await Promise.all([reader.event('ready', 120_000), writer.event('ready', 120_000)])
    const before = await target.stats()
    const deadline = wallNow() + timeoutSeconds * 1000
    const done = reader.event<ReaderDone>('done', timeoutSeconds * 1000)
    done.catch(() => undefined)
    const written = await withTimeout(
      writer.request<WriterResult>('run', null, timeoutSeconds * 1000),
      timeoutSeconds * 1000,
      'writer timed out',
    )
    let at: ReaderDone
    try {
      at = await withTimeout(done, Math.max(0, deadline - wallNow()), 'reader timed out')
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error
      const status = await reader.request<ReaderStatus>('status', null, 5_000).catch(() => undefined)
      return {
        finished: false,
        readerAtTimeout: status,
        writerApplyMs: written.appliedAt - written.startedAt,
      }
    }
    finished = true
    const after = await target.stats()
    const endToEndMs = at.at - written.startedAt
    const cell: TraceCell = {
      finished: true,
      endToEndMs,
      ratioToFloor: endToEndMs / floor.applyMs,
      writerApplyMs: written.appliedAt - written.startedAt,
      readerUpdates: at.updates,
      serverCpuMs: after.cpuMs - before.cpuMs,
    }
    await Promise.all([reader.stop('close', null, 10_000), writer.stop('close', null, 10_000)])
    if (name !== 'bare') {
      const closed = await target.stop({ replay: { documentName: 'trace', root: 'default' } })
      cell.persistedMatches = closed?.replayed?.sha256 === digest(endContent).sha256
      if (!cell.persistedMatches) {
        log(
          `!! trace ${name}: the document rebuilt from the database differs from the trace's end content ` +
            `(${closed?.replayed?.length} vs ${endContent.length} chars)`,
        )
      }
    }
    return cell
  } catch (error) {
    if (error instanceof TimeoutError) return { finished: false, error: error.message }
    return { finished: false, error: error instanceof Error ? error.message : String(error) }
  } finally {
    // A target that did not finish may be stuck merging: kill it rather than wait for a clean close.
    if (!finished) await target.child.kill()
    await Promise.all([reader.kill(), writer.kill()])
    await target.stop().catch(() => undefined)
  }
}
