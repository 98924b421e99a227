import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname } from 'node:path'
import { cleanupEverything, killAll } from './lib/children.ts'
import { log } from './lib/log.ts'
import { type Options, parseOptions } from './lib/options.ts'
import {
  evaluateGoals,
  type Results,
  renderAmplification,
  renderFanout,
  renderGoals,
  renderTrace,
} from './lib/report.ts'
import { setQuietWait } from './lib/machine.ts'
import { serverSource } from './lib/snapshot.ts'
import { configureOurs, TARGET_TITLE } from './lib/targets.ts'
import { runAmplification } from './scenarios/amplification.ts'
import { runFanout } from './scenarios/fanout.ts'
import { type HistoryReport, historyGoals, renderHistory, runHistory } from './scenarios/history.ts'
import { type NotificationsReport, runNotifications } from './scenarios/notifications.ts'
import { notificationsGoals, renderNotifications } from './scenarios/notifications-report.ts'
import { runTrace } from './scenarios/trace.ts'
import { type CapacityReport, capacityGoals, renderCapacity, runCapacity } from './scenarios/capacity.ts'
import { renderScale, runScale, type ScaleReport, scaleGoals } from './scenarios/scale.ts'

/**
 * `npm run bench`: the project's server (A) against bare Hocuspocus (B) and Hocuspocus with the
 * full-state database extension (C), each server in its own process, load from further processes.
 * Tables go to stdout, progress to stderr, every number to tests/bench/results/latest.json.
 */
let options: Options
try {
  options = parseOptions(process.argv.slice(2), process.env, import.meta.dirname)
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`)
  process.exit(2)
}

process.on('exit', cleanupEverything)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping`)
    cleanupEverything()
    process.exit(130)
  })
}

const results: Results & {
  history?: HistoryReport
  notifications?: NotificationsReport
  scale?: ScaleReport
  capacity?: CapacityReport
} = {
  startedAt: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadavgAtStart: loadavg(),
  },
  options,
  errors: [],
  goals: [],
}

function save(): void {
  mkdirSync(dirname(options.output), { recursive: true })
  writeFileSync(options.output, `${JSON.stringify(results, null, 2)}\n`)
}

let oursRoot = ''
try {
  const { root, ...source } = serverSource(options.oursRef)
  oursRoot = root
  configureOurs(root, options.oursEnv)
  setQuietWait(options.waitQuietSeconds)
  results.oursServer = source
} catch (error) {
  process.stderr.write(`--ours-ref: ${(error as Error).message}\n`)
  process.exit(2)
}
const { ref, commit, dirty } = results.oursServer
const oursEnvText = Object.entries(options.oursEnv)
  .map(([key, value]) => `${key}=${value}`)
  .join(' ')
const oursLabel =
  `${ref} @ ${commit.slice(0, 10)}${dirty ? ' + uncommitted changes' : ''}` +
  (oursEnvText ? ` with ${oursEnvText}` : '')

log(
  `scenarios: ${options.only.join(', ')}; targets: ${options.targets.map((t) => TARGET_TITLE[t]).join(', ')}` +
    `${options.quick ? ' (quick)' : ''}; ${results.machine.cpus} cores, Node ${process.version}; ours = ${oursLabel}`,
)

const scenarios = {
  fanout: async () => {
    results.fanout = await runFanout(options)
  },
  amplification: async () => {
    results.amplification = await runAmplification(options)
  },
  trace: async () => {
    results.trace = await runTrace(options)
  },
  history: async () => {
    // Hundreds of REST reads by the one bench account: lift the per-user API limit, here only.
    configureOurs(oursRoot, { RATE_LIMIT_PER_MINUTE: '1000000', ...options.oursEnv })
    try {
      results.history = await runHistory(options)
    } finally {
      configureOurs(oursRoot, options.oursEnv)
    }
  },
  notifications: async () => {
    // The scenario sets A's environment per run (rate limits for its setup, notifier on / off).
    try {
      results.notifications = await runNotifications(options, (env) => configureOurs(oursRoot, { ...env, ...options.oursEnv }))
    } finally {
      configureOurs(oursRoot, options.oursEnv)
    }
  },
  scale: async () => {
    results.scale = await runScale(options)
  },
  capacity: async () => {
    results.capacity = await runCapacity(options)
  },
}

for (const scenario of options.only) {
  const started = performance.now()
  log(`== ${scenario} ==`)
  try {
    await scenarios[scenario]()
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
    log(`!! ${scenario} failed: ${message}`)
    results.errors.push({ scenario, error: message })
    await killAll()
  }
  log(`== ${scenario} done in ${((performance.now() - started) / 1000).toFixed(1)} s ==`)
  save()
}

results.finishedAt = new Date().toISOString()
results.machine.loadavgAtEnd = loadavg()
results.goals = [...evaluateGoals(results), ...historyGoals(results.history), ...notificationsGoals(results.notifications),
  ...scaleGoals(results.scale),
  ...capacityGoals(results.capacity),
]
save()

const sections = [
  `## Benchmark ${results.startedAt}${options.quick ? ' (quick)' : ''} — ${results.machine.cpus} cores, ` +
    `Node ${results.machine.node}, load average ${results.machine.loadavgAtStart.map((v) => v.toFixed(2))} ` +
    'at start; each server in its own process, load clients in others',
  `A ours = ${oursLabel}`,
]
if (results.fanout) sections.push(renderFanout(results.fanout, options.targets))
if (results.amplification) sections.push(renderAmplification(results.amplification))
if (results.trace) sections.push(renderTrace(results.trace, options.targets))
if (results.history) sections.push(renderHistory(results.history))
if (results.notifications) sections.push(renderNotifications(results.notifications))
if (results.scale) sections.push(renderScale(results.scale))
if (results.capacity) sections.push(renderCapacity(results.capacity))
sections.push(renderGoals(results.goals))
for (const { scenario, error } of results.errors)
  sections.push(`**${scenario} failed:** ${error.split('\n')[0]}`)
process.stdout.write(`\n${sections.join('\n\n')}\n\nFull results: ${options.output}\n`)
cleanupEverything()
process.exit(results.errors.length > 0 ? 1 : 0)
