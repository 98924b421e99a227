import type { AmplificationReport } from '../scenarios/amplification.ts'
import type { FanoutReport } from '../scenarios/fanout.ts'
import type { TraceReport } from '../scenarios/trace.ts'
import { pct } from './machine.ts'
import type { ServerSource } from './snapshot.ts'
import { median } from './stats.ts'
import { TARGET_TITLE, type TargetName } from './targets.ts'

export interface Results {
  startedAt: string
  finishedAt?: string
  machine: {
    cpus: number
    node: string
    platform: string
    loadavgAtStart: number[]
    loadavgAtEnd?: number[]
  }
  options: unknown
  /** The server code target A ran. */
  oursServer?: Omit<ServerSource, 'root'>
  fanout?: FanoutReport
  amplification?: AmplificationReport
  trace?: TraceReport
  errors: { scenario: string; error: string }[]
  goals: { goal: string; met: boolean | undefined; detail: string }[]
}

function table(header: string[], rows: string[][], align: ('l' | 'r')[]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  const rule = `|${align.map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`
  return [line(header), rule, ...rows.map(line)].join('\n')
}

const ms = (v: number | undefined, digits = 1) =>
  v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits)
const ratio = (v: number | undefined, digits = 2) => (v === undefined ? '–' : `${v.toFixed(digits)}×`)
const bytes = (v: number) =>
  v >= 2 ** 20 ? `${(v / 2 ** 20).toFixed(2)} MiB` : v >= 1024 ? `${(v / 1024).toFixed(1)} KiB` : `${v} B`

export function renderFanout(r: FanoutReport, targets: TargetName[]): string {
  const c = r.config
  const title =
    `### 1. Fan-out latency — 1 writer → N readers, ${c.edits} one-char edits × ${c.rounds} round(s), ` +
    `${c.intervalMs} ms apart (p50 / p99 ms over every edit × reader; median of the rounds)`
  const header = ['N', ...targets.map((t) => TARGET_TITLE[t]), 'ours / bare p99', 'goal ≤ 1.2×']
  const rows = r.rows.map((row) => [
    String(row.readers),
    ...targets.map((t) => {
      const cell = row.targets[t]
      if (!cell) return '–'
      const missing = cell.missing > 0 ? ` (${cell.missing} missing)` : ''
      return `${ms(cell.p50, 2)} / ${ms(cell.p99, 2)}${missing}`
    }),
    ratio(row.p99RatioOursToBare),
    row.p99RatioOursToBare === undefined ? '–' : row.p99RatioOursToBare <= 1.2 ? 'met' : '**missed**',
  ])
  const cpuHeader = ['N', ...targets.map((t) => `${TARGET_TITLE[t]}`)]
  const cpuRows = r.rows.map((row) => [
    String(row.readers),
    ...targets.map((t) => {
      const cell = row.targets[t]
      if (!cell) return '–'
      return `${ms(cell.lastReaderP50, 2)} / ${ms(cell.lastReaderP99, 2)} · ${ms(cell.serverCpuMsPerEdit, 2)}`
    }),
  ])
  return [
    title,
    '',
    table(header, rows, ['r', ...targets.map(() => 'r' as const), 'r', 'l']),
    '',
    'Until the last reader has the edit, p50 / p99 ms · server CPU ms per edit:',
    '',
    table(cpuHeader, cpuRows, ['r', ...targets.map(() => 'r' as const)]),
    '',
    backgroundNote(r.rows.flatMap((row) => Object.values(row.targets).flatMap((c) => c.rounds))),
  ].join('\n')
}

function backgroundNote(runs: { backgroundCpu?: number }[]): string {
  const values = runs.map((r) => r.backgroundCpu).filter((v): v is number => v !== undefined)
  if (values.length === 0) return ''
  const busy = values.filter((v) => v > 0.2).length
  return (
    `Other work on the machine just before each run: median ${pct(median(values))}, max ${pct(Math.max(...values))} ` +
    `of all cores${busy > 0 ? ` — **${busy} of ${values.length} runs started on a busy machine**` : ''}.`
  )
}

export function renderAmplification(r: AmplificationReport): string {
  const c = r.config
  const title =
    `### 2. Write amplification — ${bytes(c.seedBytes)} document, typing ${c.typingSeconds} s at ` +
    `${c.keystrokesPerSecond} keystrokes/s (words at random positions)`
  const names = (['ours', 'dbext'] as const).filter((n) => r.targets[n])
  const header = [
    'target',
    'seed state',
    'keystrokes',
    'edit bytes',
    'writes (rows / stores)',
    'checkpoints',
    'bytes written',
    'bytes per edit byte',
    'stored = client',
  ]
  const rows = names.map((name) => {
    const cell = r.targets[name]!
    return [
      TARGET_TITLE[name],
      bytes(cell.seed.stateBytes),
      String(cell.typing.keystrokes),
      String(cell.typing.editBytes),
      String(cell.writes),
      name === 'ours' ? String(cell.checkpointWrites) : '–',
      `${cell.bytesWritten} (${bytes(cell.bytesWritten)})`,
      cell.bytesPerEditByte.toFixed(2),
      cell.persistedMatches ? 'yes' : '**NO**',
    ]
  })
  const goal =
    r.ratioDbextToOurs === undefined
      ? ''
      : `\nfull-state store / ours: **${r.ratioDbextToOurs.toFixed(0)}×** fewer bytes written by ours ` +
        `(goal ≥ 50×: ${r.ratioDbextToOurs >= 50 ? 'met' : '**missed**'})`
  return [
    title,
    '',
    table(header, rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l']),
    goal,
    '',
    backgroundNote([{ backgroundCpu: r.backgroundCpu }]),
  ].join('\n')
}

export function renderTrace(r: TraceReport, targets: TargetName[]): string {
  const title =
    `### 3. Editing trace at full speed — ${r.patches.toLocaleString('en')} patches, one transaction each, ` +
    `end text ${r.endLength.toLocaleString('en')} chars, timeout ${r.timeoutSeconds} s`
  const header = [
    'target',
    'end-to-end s',
    'vs in-process floor',
    'writer apply s',
    'server CPU s',
    'reader updates',
    'other work before',
    'result',
  ]
  const rows = [
    [
      'in-process floor (local Y.Doc)',
      ms(r.floor.applyMs / 1000, 2),
      '1.00×',
      '–',
      '–',
      '–',
      pct(r.floorBackgroundCpu),
      r.floor.matches ? 'text matches' : '**text differs**',
    ],
    ...targets.map((name) => {
      const cell = r.targets[name]
      if (!cell) return [TARGET_TITLE[name], '–', '–', '–', '–', '–', '–', 'not run']
      if (!cell.finished) {
        const at = cell.readerAtTimeout
        const where = at
          ? ` (reader at ${at.length}/${at.expectedLength} chars after ${at.updates} updates)`
          : ''
        return [
          TARGET_TITLE[name],
          `> ${r.timeoutSeconds}`,
          '–',
          ms(cell.writerApplyMs && cell.writerApplyMs / 1000, 2),
          '–',
          '–',
          pct(cell.backgroundCpu),
          `**did not finish**${where}${cell.error ? ` — ${cell.error}` : ''}`,
        ]
      }
      const persisted =
        cell.persistedMatches === undefined
          ? ''
          : cell.persistedMatches
            ? ', stored log = end text'
            : ', **stored text differs**'
      return [
        TARGET_TITLE[name],
        ms(cell.endToEndMs! / 1000, 2),
        ratio(cell.ratioToFloor),
        ms(cell.writerApplyMs! / 1000, 2),
        ms(cell.serverCpuMs! / 1000, 2),
        String(cell.readerUpdates),
        pct(cell.backgroundCpu),
        `text matches${persisted}`,
      ]
    }),
  ]
  return [title, '', table(header, rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'l'])].join('\n')
}

/** The three goals of the issue, evaluated on the run's numbers. */
export function evaluateGoals(results: Results): Results['goals'] {
  const goals: Results['goals'] = []
  if (results.fanout) {
    const ratios = results.fanout.rows.map((row) => row.p99RatioOursToBare)
    const known = ratios.filter((v): v is number => v !== undefined)
    goals.push({
      goal: 'fan-out: ours p99 within 1.2× of bare Hocuspocus',
      met: known.length === 0 ? undefined : known.every((v) => v <= 1.2),
      detail: results.fanout.rows
        .map((row) => `N=${row.readers}: ${ratio(row.p99RatioOursToBare)}`)
        .join(', '),
    })
  }
  if (results.amplification) {
    const v = results.amplification.ratioDbextToOurs
    goals.push({
      goal: 'write amplification: ≥ 50× fewer bytes than the full-state store',
      met: v === undefined ? undefined : v >= 50,
      detail: v === undefined ? 'not measured' : `${v.toFixed(0)}×`,
    })
  }
  if (results.trace) {
    const ours = results.trace.targets.ours
    goals.push({
      goal: 'editing trace: ours completes, correct, within 3× the in-process apply',
      met:
        ours === undefined
          ? undefined
          : ours.finished && ours.persistedMatches !== false && ours.ratioToFloor! <= 3,
      detail:
        ours === undefined
          ? 'not run'
          : ours.finished
            ? `${ratio(ours.ratioToFloor)}${ours.persistedMatches === false ? ', stored text differs' : ''}`
            : 'did not finish',
    })
  }
  return goals
}

export function renderGoals(goals: Results['goals']): string {
  const rows = goals.map((g) => [g.goal, g.detail, g.met === undefined ? '–' : g.met ? 'met' : '**MISSED**'])
  return ['### Goals', '', table(['goal', 'measured', ''], rows, ['l', 'l', 'l'])].join('\n')
}
