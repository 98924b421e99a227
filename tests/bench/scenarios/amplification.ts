import type { SeedResult, TypingArgs, TypingResult } from '../clients/typing.ts'
import { Child } from '../lib/children.ts'
import { log } from '../lib/log.ts'
import { backgroundLoad } from '../lib/machine.ts'
import type { Options } from '../lib/options.ts'
import { clientFile, type StartedTarget, startTarget, type TargetName } from '../lib/targets.ts'
import type { TargetStats } from '../targets/common.ts'

export interface AmplificationCell {
  seed: SeedResult
  typing: TypingResult
  baseline: TargetStats
  final: TargetStats
  /** Rows (ours) or store calls (dbext) during the typing phase. */
  writes: number
  checkpointWrites: number
  bytesWritten: number
  bytesPerEditByte: number
  /** The document rebuilt from the database equals the client's text. */
  persistedMatches: boolean
}

export interface AmplificationReport {
  config: Options['amplification']
  targets: Partial<Record<TargetName, AmplificationCell>>
  ratioDbextToOurs?: number
  /** Share of all cores busy with other work just before the run. */
  backgroundCpu?: number
}

const DOCUMENT = 'amplification'
const STORING: readonly TargetName[] = ['ours', 'dbext']

/**
 * Seeds the same 1 MB document on every target that stores, then types on all of them at the same
 * time (the typing phase is long and light; running them side by side halves the wall time).
 */
export async function runAmplification(options: Options): Promise<AmplificationReport> {
  const config = options.amplification
  const names = options.targets.filter((name) => STORING.includes(name))
  const report: AmplificationReport = { config, targets: {} }
  if (names.length === 0) {
    log('amplification: no storing target selected (ours, dbext); skipped')
    return report
  }
  report.backgroundCpu = await backgroundLoad('amplification')
  const running: { name: TargetName; target: StartedTarget; worker?: Child }[] = []
  try {
    const seeded = await Promise.all(
      names.map(async (name) => {
        const target = await startTarget(name, {
          profileDir: options.profileDir,
          profileName: `amplification-${name}`,
        })
        const entry: (typeof running)[number] = { name, target }
        running.push(entry)
        const args: TypingArgs = {
          wsUrl: target.wsUrl,
          documentName: DOCUMENT,
          seedBytes: config.seedBytes,
          seconds: config.typingSeconds,
          keystrokesPerSecond: config.keystrokesPerSecond,
          randomSeed: 42,
        }
        entry.worker = new Child(`typing ${name}`, clientFile('typing'), args)
        await entry.worker.event('ready', 60_000)
        log(`amplification ${name}: seeding ${(config.seedBytes / 2 ** 20).toFixed(1)} MB`)
        const seed = await entry.worker.request<SeedResult>('seed', null, 120_000)
        const baseline = await target.child.request<TargetStats>('flush', null, 120_000)
        log(
          `amplification ${name}: seed stored (${baseline.bytes + baseline.checkpointBytes} B in the database)`,
        )
        return { entry, seed, baseline }
      }),
    )
    log(
      `amplification: typing ${config.typingSeconds} s at ${config.keystrokesPerSecond}/s on ${names.join(' and ')}`,
    )
    const cells = await Promise.all(
      seeded.map(async ({ entry, seed, baseline }) => {
        const typing = await entry.worker!.request<TypingResult>(
          'type',
          null,
          (config.typingSeconds + 120) * 1000,
        )
        // Run the debounced store now instead of waiting out the max debounce, and let it settle.
        const final = await entry.target.child.request<TargetStats>('flush', null, 120_000)
        await entry.worker!.stop('close', null, 10_000)
        const closed = await entry.target.stop({ replay: { documentName: DOCUMENT, root: 'default' } })
        const persistedMatches = closed?.replayed?.sha256 === typing.textSha256
        if (!persistedMatches)
          log(`!! amplification ${entry.name}: the stored document differs from the client's`)
        const bytesWritten = final.bytes - baseline.bytes + (final.checkpointBytes - baseline.checkpointBytes)
        const cell: AmplificationCell = {
          seed,
          typing,
          baseline,
          final,
          writes: final.rows - baseline.rows,
          checkpointWrites: final.checkpointRows - baseline.checkpointRows,
          bytesWritten,
          bytesPerEditByte: bytesWritten / typing.editBytes,
          persistedMatches,
        }
        log(
          `amplification ${entry.name}: ${bytesWritten} B written for ${typing.editBytes} edit bytes (${cell.bytesPerEditByte.toFixed(2)}×)`,
        )
        return [entry.name, cell] as const
      }),
    )
    for (const [name, cell] of cells) report.targets[name] = cell
    const ours = report.targets.ours?.bytesPerEditByte
    const dbext = report.targets.dbext?.bytesPerEditByte
    if (ours && dbext) report.ratioDbextToOurs = dbext / ours
    return report
  } finally {
    for (const { worker, target } of running) {
      await worker?.kill()
      await target.child.kill()
      await target.stop().catch(() => undefined)
    }
  }
}
