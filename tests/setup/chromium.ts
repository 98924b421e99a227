import { findExecutable, findOrInstall } from './system-binaries.ts'

/** Names Debian and other distributions give the Chromium binary. */
const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome']

const HOW_TO_GET_CHROMIUM =
  'The browser tests need Chromium: set CHROMIUM_PATH to a Chromium or Chrome binary, or install ' +
  'Debian/Ubuntu\'s `chromium` package (`apt-get install chromium`; as root the test command installs ' +
  'it itself). No browser is ever downloaded by the tests.'

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
  const { path: chromium } = await findOrInstall({
    label: 'chromium',
    names: CHROMIUM_NAMES,
    packages: ['chromium'],
    howTo: HOW_TO_GET_CHROMIUM,
    env,
  })
  if (!chromium) throw new Error(`No Chromium binary was found. ${HOW_TO_GET_CHROMIUM}`)
  return chromium
}
