import { spawn } from 'node:child_process'
import { findExecutable } from './mariadb.ts'

/** Names Debian and other distributions give the Chromium binary. */
const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome']

const HOW_TO_GET_CHROMIUM =
  'The browser tests need Chromium: set CHROMIUM_PATH to a Chromium or Chrome binary, or install ' +
  'Debian/Ubuntu\'s `chromium` package (`apt-get install chromium`; as root the test command installs ' +
  'it itself). No browser is ever downloaded by the tests.'

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
 * The Chromium the browser tests drive: `CHROMIUM_PATH` when set (checked), else `chromium` from
 * PATH, installed with apt when missing and we are root. Throws with instructions otherwise, which
 * fails the run: the browser suite is never skipped.
 */
export async function ensureChromium(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const configured = env.CHROMIUM_PATH?.trim()
  if (configured) {
    const found = await findExecutable(configured)
    if (!found) throw new Error(`CHROMIUM_PATH=${configured} is not an executable file. ${HOW_TO_GET_CHROMIUM}`)
    return found
  }
  let chromium = await findExecutable(...CHROMIUM_NAMES)
  if (!chromium && process.getuid?.() === 0 && (await findExecutable('apt-get'))) {
    const started = Date.now()
    process.stderr.write('[chromium setup] chromium not found; installing it with apt-get…\n')
    try {
      const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' }
      // Wait for a concurrent apt/dpkg (another run installing a package) instead of failing.
      const lock = ['-o', 'DPkg::Lock::Timeout=300']
      await run('apt-get', [...lock, 'update'], aptEnv)
      await run('apt-get', [...lock, 'install', '-y', 'chromium'], aptEnv)
    } catch (error) {
      throw new Error(`Installing chromium with apt-get failed: ${(error as Error).message}\n${HOW_TO_GET_CHROMIUM}`, {
        cause: error,
      })
    }
    process.stderr.write(`[chromium setup] chromium installed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
    chromium = await findExecutable(...CHROMIUM_NAMES)
  }
  if (!chromium) throw new Error(`No Chromium binary was found. ${HOW_TO_GET_CHROMIUM}`)
  return chromium
}
