import { TARGETS, type TargetName } from './targets.ts'

export const SCENARIOS = ['fanout', 'amplification', 'trace', 'history', 'notifications', 'scale', 'capacity'] as const
export type Scenario = (typeof SCENARIOS)[number]

export interface Options {
  quick: boolean
  only: Scenario[]
  targets: TargetName[]
  fanout: { readers: number[]; edits: number; warmup: number; intervalMs: number; rounds: number }
  amplification: { seedBytes: number; typingSeconds: number; keystrokesPerSecond: number }
  trace: { limit: number | undefined; timeoutSeconds: number }
  /** Scenario 4 (ours only): a document of `rows` log rows; cold loads per variant, version reads, restore clients. */
  history: { rows: number; loads: number; reads: number; clients: number }
  /**
   * Scenario 5 (ours only): one document shared with `collaborators`; `editors` type for `seconds`,
   * `readers` read their inbox every `readEverySeconds`, `watchers` only have it open. Stretches of
   * `seconds` of typing take turns between notifications off and on: `rounds` of each (off, on,
   * on, off, …).
   */
  notifications: {
    seconds: number
    rounds: number
    collaborators: number
    editors: number
    watchers: number
    readers: number
    readEverySeconds: number
    keystrokesPerSecond: number
  }
  /**
   * Scale (ours only, two instances on one database and one Redis): fan-out with `readers` and
   * `edits`, ack-paced throughput of `documents` × 2 clients for `seconds`, `rounds` interleaved.
   */
  scale: { readers: number; edits: number; documents: number; seconds: number; rounds: number }
  /**
   * Capacity (ours vs bare): idle `sizes` sockets over `documents` documents, ack-paced throughput
   * of `pairs` documents × 2 clients for `seconds`, `rounds` interleaved rounds.
   */
  capacity: { sizes: number[]; documents: number; pairs: number; seconds: number; rounds: number }
  /** Directory for V8 CPU profiles of every server process, or undefined. */
  profileDir: string | undefined
  /** Run target A from this git ref instead of the working tree. */
  oursRef: string | undefined
  /** Before each measured run, wait up to this many seconds for other work on the machine to stop. */
  waitQuietSeconds: number
  /** Extra environment for target A's `loadConfig` (`--ours-env=KEY=VALUE,KEY=VALUE`). */
  oursEnv: Record<string, string>
  output: string
}

export const USAGE = `npm run bench [-- options]
  --quick                      short runs for smoke testing (~3 min)
  --only=fanout,amplification,trace,history,notifications   (--scenario=X is the same as --only=X)
  --targets=ours,bare,dbext
  --readers=10,50,200          fan-out reader counts
  --edits=N                    fan-out measured edits per round
  --rounds=N                   fan-out rounds (default 5; target order rotates per round)
  --typing-seconds=N           amplification typing phase (env BENCH_TYPING_SECONDS; default 300)
  --typing-rate=N              keystrokes per second (default 5)
  --trace-limit=N              use only the first N patches of the trace
  --trace-timeout=N            seconds before a target counts as "did not finish" (env BENCH_TRACE_TIMEOUT_S)
  --history-rows=N             log rows of the history document (default 10000)
  --history-reads=N            version reads and current-content reads each (default 200)
  --notifications-seconds=N    notifications scenario: seconds of each stretch of typing (env BENCH_NOTIFICATIONS_SECONDS; default 60)
  --notifications-rounds=N     stretches per mode, off and on taking turns (default 2)
  --scale-rounds=N             scale and capacity scenarios: interleaved rounds (default 3)
  --throughput-seconds=N       scale and capacity scenarios: measured seconds of ack-paced typing (default 10)
  --capacity-sizes=1000,3000   capacity scenario: idle socket counts
  --prof[=DIR]                 write a CPU profile of each server process (default tests/bench/results/profiles)
  --ours-ref=REF               run target A from a git commit instead of the working tree (env BENCH_OURS_REF)
  --ours-env=K=V,K=V           extra server config for target A, e.g. BROADCAST_FLUSH_MAX_BYTES=4096
  --wait-quiet[=S]             before each run, wait up to S s (default 300) until other work uses < 20% CPU
  --output=FILE                JSON results (default tests/bench/results/latest.json)`

function list<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value.split(',').filter(Boolean)
  for (const item of items) {
    if (!allowed.includes(item as T))
      throw new Error(`unknown ${what} "${item}"; expected ${allowed.join(', ')}`)
  }
  return items as T[]
}

function positive(value: string, what: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${what} must be a positive number, got "${value}"`)
  return n
}

function parseEnv(value: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const pair of value.split(',').filter(Boolean)) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair)
    if (!match) throw new Error(`--ours-env: expected KEY=VALUE, got "${pair}"`)
    env[match[1]!] = match[2]!
  }
  return env
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv, benchDir: string): Options {
  const flags = new Map<string, string>()
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') throw new Error(USAGE)
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg)
    if (!match) throw new Error(`unexpected argument "${arg}"\n${USAGE}`)
    flags.set(match[1]!, match[2] ?? '')
  }
  const known = [
    'quick',
    'only',
    'targets',
    'readers',
    'edits',
    'rounds',
    'typing-seconds',
    'typing-rate',
    'trace-limit',
    'trace-timeout',
    'prof',
    'output',
    'ours-ref',
    'wait-quiet',
    'ours-env',
    'scenario',
    'history-rows',
    'history-reads',
    'notifications-seconds',
    'notifications-rounds',
    'scale-rounds',
    'throughput-seconds',
    'capacity-sizes',
  ]
  for (const key of flags.keys()) if (!known.includes(key)) throw new Error(`unknown flag --${key}\n${USAGE}`)
  const quick = flags.has('quick')
  const get = (key: string, envKey?: string) =>
    flags.get(key) || (envKey ? env[envKey] : undefined) || undefined
  const typingSeconds = get('typing-seconds', 'BENCH_TYPING_SECONDS')
  const traceTimeout = get('trace-timeout', 'BENCH_TRACE_TIMEOUT_S')
  const traceLimit = get('trace-limit')
  return {
    quick,
    only: flags.has('only') || flags.has('scenario')
      ? list(flags.get('only') || flags.get('scenario')!, SCENARIOS, 'scenario')
      : [...SCENARIOS],
    targets: flags.has('targets') ? list(flags.get('targets')!, TARGETS, 'target') : [...TARGETS],
    fanout: {
      readers: get('readers')
        ?.split(',')
        .map((n) => positive(n, '--readers')) ?? [10, 50, 200],
      edits: positive(get('edits') ?? (quick ? '50' : '200'), '--edits'),
      warmup: 10,
      intervalMs: 20,
      rounds: positive(get('rounds') ?? (quick ? '1' : '5'), '--rounds'),
    },
    amplification: {
      seedBytes: 1024 * 1024,
      typingSeconds: positive(typingSeconds ?? (quick ? '20' : '300'), '--typing-seconds'),
      keystrokesPerSecond: positive(get('typing-rate') ?? '5', '--typing-rate'),
    },
    trace: {
      limit: traceLimit ? positive(traceLimit, '--trace-limit') : quick ? 60_000 : undefined,
      timeoutSeconds: positive(traceTimeout ?? (quick ? '60' : '120'), '--trace-timeout'),
    },
    history: {
      rows: positive(get('history-rows') ?? '10000', '--history-rows'),
      loads: quick ? 3 : 7,
      reads: positive(get('history-reads') ?? (quick ? '50' : '200'), '--history-reads'),
      clients: 20,
    },
    notifications: {
      seconds: positive(get('notifications-seconds', 'BENCH_NOTIFICATIONS_SECONDS') ?? (quick ? '20' : '60'), '--notifications-seconds'),
      rounds: positive(get('notifications-rounds') ?? (quick ? '1' : '2'), '--notifications-rounds'),
      collaborators: 200,
      editors: 3,
      watchers: 5,
      readers: 20,
      readEverySeconds: 10,
      keystrokesPerSecond: 5,
    },
    scale: {
      readers: 200,
      edits: positive(get('edits') ?? (quick ? '50' : '200'), '--edits'),
      documents: 100,
      seconds: positive(get('throughput-seconds') ?? (quick ? '5' : '10'), '--throughput-seconds'),
      rounds: positive(get('scale-rounds') ?? '3', '--scale-rounds'),
    },
    capacity: {
      sizes: get('capacity-sizes')
        ?.split(',')
        .map((n) => positive(n, '--capacity-sizes')) ?? [1000, 3000],
      documents: 300,
      pairs: 100,
      seconds: positive(get('throughput-seconds') ?? (quick ? '5' : '10'), '--throughput-seconds'),
      rounds: positive(get('scale-rounds') ?? '3', '--scale-rounds'),
    },
    profileDir: flags.has('prof') ? flags.get('prof') || `${benchDir}/results/profiles` : undefined,
    output: get('output') ?? `${benchDir}/results/latest.json`,
    oursRef: get('ours-ref', 'BENCH_OURS_REF'),
    oursEnv: parseEnv(get('ours-env', 'BENCH_OURS_ENV') ?? ''),
    waitQuietSeconds: flags.has('wait-quiet') ? positive(flags.get('wait-quiet') || '300', '--wait-quiet') : 0,
  }
}
