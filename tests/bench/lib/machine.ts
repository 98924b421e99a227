import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { sleep } from './ipc.ts'
import { log } from './log.ts'

/** Busy and total jiffies over all cores, from /proc/stat (Linux); undefined elsewhere. */
function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
    const busy = user! + nice! + system! + irq! + softirq! + steal!
    return { busy, total: busy + idle! + iowait! }
  } catch {
    return undefined
  }
}

/** Fraction (0–1) of all cores busy over `ms`, or undefined if unknown. */
export async function busyFraction(ms = 1_000): Promise<number | undefined> {
  const before = cpuTimes()
  await sleep(ms)
  const after = cpuTimes()
  if (!before || !after || after.total === before.total) return undefined
  return (after.busy - before.busy) / (after.total - before.total)
}

let maxWaitSeconds = 0

/** `--wait-quiet=S`: before each measured run, wait up to S seconds for other work to stop. */
export function setQuietWait(seconds: number): void {
  maxWaitSeconds = seconds
}

const QUIET = 0.2

/**
 * Measures how busy the machine is while none of our servers or clients run, i.e. other people's
 * work, and with `--wait-quiet` waits (bounded) until it drops below 20% of all cores. Returns the
 * last measurement, recorded next to each result: the numbers of a run on a busy 2-core machine
 * are noise.
 */
export async function backgroundLoad(what: string): Promise<number | undefined> {
  const deadline = performance.now() + maxWaitSeconds * 1000
  let busy = await busyFraction()
  let logged = false
  while (busy !== undefined && busy > QUIET && performance.now() < deadline) {
    if (!logged) {
      log(`${what}: machine busy with other work (${pct(busy)} of ${cpus().length} cores); waiting`)
      logged = true
    }
    await sleep(4_000)
    busy = await busyFraction()
  }
  if (busy !== undefined && busy > QUIET) log(`${what}: starting with ${pct(busy)} background CPU`)
  return busy
}

export const pct = (fraction: number | undefined) =>
  fraction === undefined ? '–' : `${Math.round(fraction * 100)}%`
