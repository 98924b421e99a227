import { spawn } from 'node:child_process'
import { constants as fsConstants } from 'node:fs'
import { access } from 'node:fs/promises'
import { delimiter, join } from 'node:path'

/** Where Debian and most distributions put binaries, besides PATH. */
export const EXTRA_BIN_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']

/** The first executable named like one of `names` in PATH or the usual sbin/bin folders. */
export async function findExecutable(...names: string[]): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_BIN_DIRS]
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name)
      try {
        await access(candidate, fsConstants.X_OK)
        return candidate
      } catch {
        // not here; keep looking
      }
    }
  }
  return undefined
}

/** Runs a command with its output on our stderr (so apt progress shows up in the test log). */
function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', process.stderr, process.stderr], env })
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      if (code === 0) resolve()
      else reject(new Error(`${command} ${args.join(' ')} failed with ${signal ?? `exit code ${code}`}`))
    })
  })
}

/**
 * One of `names`, or, when none is installed and we are root with apt-get, `packages` installed
 * with apt (Debian's server packages don't start their service without systemd, so this only adds
 * binaries) and looked for again. `note` says why there is none, for the caller's error.
 */
export async function findOrInstall(options: {
  /** `[<label> setup]` on the progress lines. */
  label: string
  names: string[]
  packages: string[]
  /** What a person can do instead, appended to an apt failure. */
  howTo: string
  env?: NodeJS.ProcessEnv
}): Promise<{ path: string | undefined; note: string }> {
  const { label, names, packages, howTo } = options
  const named = packages.filter((p) => !p.startsWith('-')).join(' ')
  const path = await findExecutable(...names)
  if (path) return { path, note: '' }
  if (process.getuid?.() !== 0 || !(await findExecutable('apt-get'))) {
    return { path, note: 'it could not be installed (installing needs root and apt-get)' }
  }
  const started = Date.now()
  process.stderr.write(`[${label} setup] ${names[0]} not found; installing ${named} with apt-get…\n`)
  try {
    const env = { ...(options.env ?? process.env), DEBIAN_FRONTEND: 'noninteractive' }
    // Wait for a concurrent apt/dpkg (another run installing a package) instead of failing.
    const lock = ['-o', 'DPkg::Lock::Timeout=300']
    await run('apt-get', [...lock, 'update'], env)
    await run('apt-get', [...lock, 'install', '-y', ...packages], env)
  } catch (error) {
    throw new Error(`Installing ${named} with apt-get failed: ${(error as Error).message}\n${howTo}`, { cause: error })
  }
  process.stderr.write(`[${label} setup] installed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
  return { path: await findExecutable(...names), note: `installing ${named} with apt-get did not provide it` }
}
