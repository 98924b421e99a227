import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { registerTempDir } from './children.ts'

export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..')

export interface ServerSource {
  /** Directory holding `server/`, `shared/`, `migrations/` and `package.json`. */
  root: string
  /** `working tree` or the ref asked for. */
  ref: string
  commit: string
  /** Working tree only: server code differs from the commit. */
  dirty?: boolean
}

function git(...args: string[]): string {
  return execFileSync('git', ['-C', REPO_ROOT, ...args], { encoding: 'utf8' }).trim()
}

const SOURCES = ['server', 'shared', 'migrations', 'package.json']

/**
 * The server code target A runs. The working tree by default; with a git ref, that commit's server
 * extracted (`git archive`) into a temp dir next to the repo's node_modules, so a benchmark can run
 * against a fixed version while the working tree is being edited, or compare two versions.
 */
export function serverSource(ref: string | undefined): ServerSource {
  if (ref === undefined) {
    let commit = 'unknown'
    let dirty: boolean | undefined
    try {
      commit = git('rev-parse', 'HEAD')
      dirty = git('status', '--porcelain', '--', ...SOURCES) !== ''
    } catch {
      // Not a git checkout: fine, nothing to record.
    }
    return { root: REPO_ROOT, ref: 'working tree', commit, dirty }
  }
  const commit = git('rev-parse', '--verify', `${ref}^{commit}`)
  const root = registerTempDir(mkdtempSync(join(tmpdir(), 'bench-server-')))
  mkdirSync(root, { recursive: true })
  const tar = execFileSync('git', ['-C', REPO_ROOT, 'archive', '--format=tar', commit, ...SOURCES], {
    maxBuffer: 1024 * 2 ** 20,
  })
  execFileSync('tar', ['-x', '-C', root], { input: tar })
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir')
  return { root, ref, commit }
}
