import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TargetCloseArgs, TargetCloseResult, TargetStats } from '../targets/common.ts'
import { Child, registerTempDir, removeTempDir } from './children.ts'

export const TARGETS = ['ours', 'bare', 'dbext'] as const
export type TargetName = (typeof TARGETS)[number]

export const TARGET_TITLE: Record<TargetName, string> = {
  ours: 'A ours',
  bare: 'B bare Hocuspocus',
  dbext: 'C Hocuspocus + extension-database',
}

const here = import.meta.dirname
let oursRoot = join(here, '..', '..', '..')
let oursEnv: Record<string, string> = {}

/** Where target A loads the server from (see `snapshot.ts`), and extra config for it. */
export function configureOurs(root: string, env: Record<string, string>): void {
  oursRoot = root
  oursEnv = env
}

export interface StartedTarget {
  name: TargetName
  child: Child
  wsUrl: string
  dir: string
  stats(): Promise<TargetStats>
  stop(args?: TargetCloseArgs): Promise<TargetCloseResult | undefined>
}

export interface TargetOptions {
  /** Write a V8 CPU profile of the server process into this directory (`--cpu-prof`). */
  profileDir?: string
  profileName?: string
  /** Use this folder (and its database) instead of a new one: instances sharing one database. */
  dir?: string
  /** Extra environment for this process only (target A), over `--ours-env`. */
  env?: Record<string, string>
}

/** Forks `targets/<name>.ts` in its own process and waits until it listens. */
export async function startTarget(name: TargetName, options: TargetOptions = {}): Promise<StartedTarget> {
  // A shared folder belongs to the caller, which removes it after stopping every instance.
  const ownDir = options.dir === undefined
  const dir = options.dir ?? registerTempDir(mkdtempSync(join(tmpdir(), `bench-${name}-`)))
  const execArgv = options.profileDir
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${options.profileDir}`,
        ...(options.profileName ? [`--cpu-prof-name=${options.profileName}.cpuprofile`] : []),
      ]
    : []
  const file = join(here, '..', 'targets', `${name}.ts`)
  const child = new Child(`server ${name}`, file, { dir, serverRoot: oursRoot, env: { ...options.env, ...oursEnv } }, { execArgv })
  try {
    const { port, path } = await child.event<{ port: number; path: string }>('ready', 60_000)
    return {
      name,
      child,
      dir,
      wsUrl: `ws://127.0.0.1:${port}${path}`,
      stats: () => child.request<TargetStats>('stats'),
      async stop(args) {
        try {
          return await child.stop<TargetCloseResult>('close', args ?? {}, 60_000)
        } finally {
          if (ownDir) removeTempDir(dir)
        }
      },
    }
  } catch (error) {
    await child.kill()
    if (ownDir) removeTempDir(dir)
    throw error
  }
}

export function clientFile(name: string): string {
  return join(here, '..', 'clients', `${name}.ts`)
}
