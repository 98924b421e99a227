import { type ChildProcess, fork } from 'node:child_process'
import { rmSync } from 'node:fs'
import type { ChildMessage, RequestMessage } from './ipc.ts'
import { log } from './log.ts'

const live = new Set<Child>()
const tempDirs = new Set<string>()

/** A forked child process speaking the protocol of `ipc.ts`. */
export class Child {
  readonly label: string
  readonly proc: ChildProcess
  readonly exited: Promise<number | null>
  #nextId = 1
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  readonly #events = new Map<string, unknown[]>()
  readonly #waiters = new Map<string, ((data: unknown) => void)[]>()
  #exitCode: number | null | undefined

  constructor(label: string, file: string, args: unknown, options: { execArgv?: string[] } = {}) {
    this.label = label
    this.proc = fork(file, [JSON.stringify(args)], {
      execPath: process.execPath,
      execArgv: options.execArgv ?? [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    live.add(this)
    this.proc.on('message', (raw) => this.#onMessage(raw as ChildMessage))
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        live.delete(this)
        this.#exitCode = code
        const error = new Error(`${label} exited (code ${code}, signal ${signal})`)
        for (const { reject } of this.#pending.values()) reject(error)
        this.#pending.clear()
        for (const waiters of this.#waiters.values()) for (const wake of waiters) wake(error)
        this.#waiters.clear()
        resolve(code)
      })
    })
  }

  get running(): boolean {
    return this.#exitCode === undefined
  }

  #onMessage(message: ChildMessage): void {
    if (message.kind === 'reply') {
      const pending = this.#pending.get(message.id)
      if (!pending) return
      this.#pending.delete(message.id)
      if (message.ok) pending.resolve(message.result)
      else pending.reject(new Error(`${this.label}: ${message.error}`))
    } else if (message.kind === 'progress') {
      log(`  [${this.label}] ${message.text}`)
    } else if (message.kind === 'event') {
      const waiters = this.#waiters.get(message.name)
      const wake = waiters?.shift()
      if (wake) wake(message.data)
      else {
        const queue = this.#events.get(message.name) ?? []
        queue.push(message.data)
        this.#events.set(message.name, queue)
      }
    }
  }

  request<T>(command: string, args: unknown = null, timeoutMs = 60_000): Promise<T> {
    if (!this.running) return Promise.reject(new Error(`${this.label} is not running`))
    const id = this.#nextId++
    const message: RequestMessage = { kind: 'request', id, command, args }
    return withTimeout(
      new Promise<T>((resolve, reject) => {
        this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
        this.proc.send(message)
      }),
      timeoutMs,
      `${this.label}: '${command}' timed out after ${timeoutMs} ms`,
    ).finally(() => this.#pending.delete(id))
  }

  /** The next `name` event (buffered if it already arrived). Rejects if the child exits first. */
  event<T>(name: string, timeoutMs = 60_000): Promise<T> {
    const queue = this.#events.get(name)
    if (queue && queue.length > 0) return Promise.resolve(queue.shift() as T)
    if (!this.running) return Promise.reject(new Error(`${this.label} is not running`))
    let wake: ((data: unknown) => void) | undefined
    const promise = new Promise<T>((resolve, reject) => {
      wake = (data) => (data instanceof Error ? reject(data) : resolve(data as T))
      const waiters = this.#waiters.get(name) ?? []
      waiters.push(wake)
      this.#waiters.set(name, waiters)
    })
    return withTimeout(promise, timeoutMs, `${this.label}: no '${name}' within ${timeoutMs} ms`).finally(
      () => {
        const waiters = this.#waiters.get(name)
        if (waiters && wake) waiters.splice(waiters.indexOf(wake), 1)
      },
    )
  }

  /** SIGKILL, then wait for the exit. */
  async kill(): Promise<void> {
    if (this.running) this.proc.kill('SIGKILL')
    await this.exited
  }

  /**
   * Asks the child to finish cleanly (`command`; the child exits after replying, which lets
   * `--cpu-prof` write its profile), killing it if it doesn't within `timeoutMs`.
   */
  async stop<T>(command = 'close', args: unknown = null, timeoutMs = 30_000): Promise<T | undefined> {
    try {
      if (!this.running) return undefined
      const result = await this.request<T>(command, args, timeoutMs)
      await withTimeout(this.exited, 10_000, 'exit').catch(() => undefined)
      return result
    } finally {
      await this.kill()
    }
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(message)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export class TimeoutError extends Error {
  override name = 'TimeoutError'
}

export function registerTempDir(dir: string): string {
  tempDirs.add(dir)
  return dir
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  tempDirs.delete(dir)
}

/** Synchronous last-resort cleanup: kills every child still alive and removes temp dirs. */
export function cleanupEverything(): void {
  for (const child of live) {
    try {
      child.proc.kill('SIGKILL')
    } catch {
      // Already gone.
    }
  }
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true })
    } catch {
      // Best effort at exit.
    }
  }
  tempDirs.clear()
}

export async function killAll(): Promise<void> {
  await Promise.all([...live].map((child) => child.kill()))
}
