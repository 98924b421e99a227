import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defer } from './cleanup.ts'

export interface ServerProcess {
  child: ChildProcess
  url: string
  wsUrl: string
  /** Everything the process printed so far (stdout and stderr). */
  output(): string
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  /** Resolves with the exit code once the process exits, without signalling it. */
  exited: Promise<number | null>
}

export interface ProcessOptions {
  /**
   * `npm`: through the real `npm start` (the `npm` on PATH), in a process group of its own, as a
   * process manager or a terminal runs it. Default: `server/main.ts` directly.
   */
  via?: 'node' | 'npm'
}

/** Runs `server/main.ts` (what `npm start` runs) as a real process, with env overrides. */
export function runServerProcess(
  env: Record<string, string>,
  options: ProcessOptions = {},
): {
  child: ChildProcess
  output(): string
  exited: Promise<number | null>
} {
  const viaNpm = options.via === 'npm'
  const [command, args] = viaNpm ? ['npm', ['start']] : [process.execPath, ['server/main.ts']]
  const child = spawn(command, args, {
    cwd: process.cwd(),
    detached: viaNpm,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      // Never the repository's ./data: each process gets its own folder unless the test shares one.
      DATA_DIR: mkdtempSync(join(tmpdir(), 'collab-data-')),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk) => {
    output += chunk
  })
  child.stderr?.on('data', (chunk) => {
    output += chunk
  })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  defer(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    // Whatever npm started too, should it have been left behind.
    if (viaNpm && child.pid) killGroup(child.pid)
  })
  return { child, output: () => output, exited }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // The group is empty: nothing was left behind.
  }
}

/** Whether a process with this pid exists (a zombie counts until its parent reaps it). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Starts the server process and waits until it listens. */
export async function startServerProcess(
  env: Record<string, string>,
  timeoutMs = 20_000,
  options: ProcessOptions = {},
): Promise<ServerProcess> {
  const { child, output, exited } = runServerProcess(env, options)
  const deadline = Date.now() + timeoutMs
  let url: string | undefined
  while (!url) {
    url = /listening on (http:\/\/[\d.]+:\d+)/.exec(output())?.[1]
    if (url) break
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output()}`)
    if (Date.now() > deadline) throw new Error(`server did not start:\n${output()}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return {
    child,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode
      child.kill(signal)
      return exited
    },
  }
}
