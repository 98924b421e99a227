import { randomBytes } from 'node:crypto'
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'

export const AUTH_SECRET_FILE = 'auth-secret'

// Generated secrets are 48 random bytes written as 64 base64url characters; anything much shorter
// in the file is damage, not a secret.
const MIN_SECRET_LENGTH = 32

/**
 * The key that signs access tokens: `AUTH_SECRET` when set, else the one kept in
 * `<dataDir>/auth-secret`, generated on first start. Either way the key is the UTF-8 bytes of the
 * text, so copying the file's content into `AUTH_SECRET` keeps every issued token valid.
 */
export async function loadAuthSecret(
  configured: string | undefined,
  deps: { dataDir: string; log: FastifyBaseLogger },
): Promise<Uint8Array> {
  if (configured) return new TextEncoder().encode(configured)
  const file = join(deps.dataDir, AUTH_SECRET_FILE)
  const existing = await readSecret(file)
  if (existing) {
    await warnIfReadableByOthers(file, deps.log)
    return new TextEncoder().encode(existing)
  }
  await createSecretFile(deps.dataDir, file)
  deps.log.info({ file }, 'generated the access-token signing secret (set AUTH_SECRET to manage it yourself)')
  const created = await readSecret(file)
  if (!created) throw new Error(`${file}: could not read back the generated auth secret`)
  return new TextEncoder().encode(created)
}

/**
 * Writes a fresh secret beside the final name, then hard-links it into place: `link` never
 * overwrites, so when several instances start at once exactly one secret wins and all re-read it.
 */
async function createSecretFile(dataDir: string, file: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const secret = `${randomBytes(48).toString('base64url')}\n`
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  await writeFile(temp, secret, { mode: 0o600, flag: 'wx', flush: true })
  try {
    await link(temp, file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return
    if (code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EPERM') throw error
    // A filesystem without hard links: exclusive create still lets only one instance win.
    await writeFile(file, secret, { mode: 0o600, flag: 'wx', flush: true }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e
    })
  } finally {
    await unlink(temp).catch(() => {})
  }
}

async function readSecret(file: string): Promise<string | undefined> {
  let text: string
  try {
    text = (await readFile(file, 'utf8')).trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  if (text.length < MIN_SECRET_LENGTH) {
    throw new Error(
      `${file}: the auth secret is shorter than ${MIN_SECRET_LENGTH} characters; ` +
        'delete the file to generate a new one (signing out everyone) or set AUTH_SECRET',
    )
  }
  return text
}

async function warnIfReadableByOthers(file: string, log: FastifyBaseLogger): Promise<void> {
  if (process.platform === 'win32') return
  const { mode } = await stat(file)
  if ((mode & 0o077) !== 0) {
    log.warn({ file, mode: (mode & 0o777).toString(8) }, 'the auth secret file is readable by other users; chmod 600 it')
  }
}
