import { createHash } from 'node:crypto'
import { emit, serve, sleep } from '../lib/ipc.ts'

export interface TextDigest {
  length: number
  sha256: string
}

export function digest(text: string): TextDigest {
  return { length: text.length, sha256: createHash('sha256').update(text).digest('hex') }
}

/** What every target process reports with each answer. */
export interface ProcessStats {
  /** User + system CPU time of the server process since it started. */
  cpuMs: number
  rssMb: number
}

/** Bytes the target has written to its database (zero for the target without one). */
export interface StorageStats {
  /** ours: `document_updates` rows/bytes; dbext: `store` calls and the bytes of their `state`. */
  rows: number
  bytes: number
  /** ours only: `document_checkpoints`. */
  checkpointRows: number
  checkpointBytes: number
}

export type TargetStats = ProcessStats & StorageStats

export interface TargetCloseArgs {
  /** After closing, rebuild this document from the database and return a digest of `root`'s text. */
  replay?: { documentName: string; root: string }
}

export interface TargetCloseResult extends TargetStats {
  /** The text rebuilt from the database, as a digest (a 1 MB text is no IPC payload). */
  replayed?: TextDigest
}

export interface RunningTarget {
  port: number
  /** Path clients connect to (Hocuspocus protocol). */
  path: string
  storage(): StorageStats
  /** Runs every debounced store now. */
  flush(): Promise<void>
  close(args: TargetCloseArgs): Promise<{ replayedText?: string }>
}

export const noStorage = (): StorageStats => ({ rows: 0, bytes: 0, checkpointRows: 0, checkpointBytes: 0 })

function processStats(): ProcessStats {
  const { user, system } = process.cpuUsage()
  return { cpuMs: (user + system) / 1000, rssMb: process.memoryUsage().rss / 2 ** 20 }
}

/** Starts a target and serves `stats` / `flush` / `close` to the parent. */
export async function runTarget(start: () => Promise<RunningTarget>): Promise<void> {
  const target = await start()
  const stats = (): TargetStats => ({ ...processStats(), ...target.storage() })
  serve(async (command, args) => {
    switch (command) {
      case 'stats':
        return stats()
      case 'flush': {
        await target.flush()
        await untilStable(target.storage)
        return stats()
      }
      case 'close': {
        const { replayedText } = await target.close((args ?? {}) as TargetCloseArgs)
        const replayed = replayedText === undefined ? undefined : digest(replayedText)
        const result: TargetCloseResult = { ...stats(), replayed }
        return result
      }
      default:
        throw new Error(`unknown command ${command}`)
    }
  })
  emit('ready', { port: target.port, path: target.path })
}

/** Waits until the stored bytes stop changing for `quietMs` (stores and checkpoints run async). */
export async function untilStable(storage: () => StorageStats, quietMs = 1_500): Promise<void> {
  let last = JSON.stringify(storage())
  let since = performance.now()
  while (performance.now() - since < quietMs) {
    await sleep(100)
    const now = JSON.stringify(storage())
    if (now !== last) {
      last = now
      since = performance.now()
    }
  }
}
