/**
 * The child side of the IPC protocol between `run.ts` and its child processes (targets and load
 * clients). The parent sends `request`s; the child answers each with a `reply`, and may `emit`
 * events or `progress` lines at any time. A child whose parent goes away exits at once.
 */

export interface RequestMessage {
  kind: 'request'
  id: number
  command: string
  args: unknown
}

export type ChildMessage =
  | { kind: 'reply'; id: number; ok: true; result: unknown }
  | { kind: 'reply'; id: number; ok: false; error: string }
  | { kind: 'event'; name: string; data: unknown }
  | { kind: 'progress'; text: string }

// A child whose parent is gone (even killed) exits at once, whatever it was doing.
if (process.send) process.on('disconnect', () => process.exit(1))

export type Handler = (command: string, args: unknown) => Promise<unknown> | unknown

function send(message: ChildMessage, then?: () => void): void {
  if (process.send && process.connected) process.send(message, undefined, {}, () => then?.())
  else then?.()
}

/**
 * Answers the parent's requests with `handler`. The `close` command ends the process (exit code 0)
 * once its reply is out: exiting on a timer instead can cut a large reply short.
 */
export function serve(handler: Handler): void {
  process.on('message', (raw: unknown) => {
    const message = raw as RequestMessage
    if (message?.kind !== 'request') return
    const then = message.command === 'close' ? () => process.exit(0) : undefined
    Promise.resolve()
      .then(() => handler(message.command, message.args))
      .then(
        (result) => send({ kind: 'reply', id: message.id, ok: true, result: result ?? null }, then),
        (error: unknown) =>
          send(
            {
              kind: 'reply',
              id: message.id,
              ok: false,
              error: error instanceof Error ? (error.stack ?? error.message) : String(error),
            },
            then,
          ),
      )
  })
}

/**
 * Serves a load client's usual commands, then tells the parent it is ready (with `ready`): `run`
 * runs `run` (for clients that have one) and `close` destroys `clients`.
 */
export function serveLoad(clients: readonly { destroy(): void }[], run?: () => unknown, ready: unknown = null): void {
  serve((command) => {
    if (command === 'run' && run) return run()
    if (command === 'close') {
      for (const client of clients) client.destroy()
      return null
    }
    throw new Error(`unknown command ${command}`)
  })
  emit('ready', ready)
}

export function emit(name: string, data: unknown = null): void {
  send({ kind: 'event', name, data })
}

export function progress(text: string): void {
  send({ kind: 'progress', text })
}

/** Arguments passed by the parent as one JSON string (argv[2]). */
export function childArgs<T>(): T {
  const raw = process.argv[2]
  if (!raw) throw new Error('missing JSON arguments')
  return JSON.parse(raw) as T
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now()
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
