import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * Password hashes: `scrypt$N$r$p$salt$hash` (salt and hash base64url). The parameters travel with
 * each hash, so raising them later leaves existing accounts verifiable.
 */
export interface ScryptParams {
  N: number
  r: number
  p: number
}

/** OWASP's scrypt floor: 32 MiB per hash (N=2^15, r=8) repeated p=3 times. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 3 }

const SALT_BYTES = 16
const KEY_BYTES = 32
// A hash read from the database is trusted only this far, so a corrupt row can't ask for gigabytes.
const MAX_N = 2 ** 20
const MAX_R = 32
const MAX_P = 16

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const key = await derive(password, salt, params, KEY_BYTES)
  return format(params, salt, key)
}

/**
 * True when `password` matches `hash`. A null or malformed hash is false, but still costs one
 * scrypt run: a login for an unknown email must take as long as one with a wrong password.
 */
export async function verifyPassword(password: string, hash: string | null | undefined): Promise<boolean> {
  const parsed = hash ? parse(hash) : undefined
  const { params, salt, key } = parsed ?? dummyHash
  const candidate = await derive(password, salt, params, key.length)
  return timingSafeEqual(candidate, key) && parsed !== undefined
}

interface ParsedHash {
  params: ScryptParams
  salt: Buffer
  key: Buffer
}

// Random bytes, never a real password's hash: verifying against it always fails, at the usual cost.
const dummyHash: ParsedHash = {
  params: DEFAULT_SCRYPT_PARAMS,
  salt: randomBytes(SALT_BYTES),
  key: randomBytes(KEY_BYTES),
}

function format({ N, r, p }: ScryptParams, salt: Buffer, key: Buffer): string {
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$')
}

function parse(hash: string): ParsedHash | undefined {
  const parts = hash.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined
  const [N, r, p] = parts.slice(1, 4).map((part) => (/^[1-9][0-9]{0,9}$/.test(part) ? Number(part) : NaN))
  if (!N || !r || !p || N > MAX_N || r > MAX_R || p > MAX_P || N < 2 || (N & (N - 1)) !== 0) return undefined
  const salt = base64url(parts[4])
  const key = base64url(parts[5])
  if (!salt || !key || salt.length < 8 || key.length < 16) return undefined
  return { params: { N, r, p }, salt, key }
}

function base64url(text: string | undefined): Buffer | undefined {
  return text && /^[A-Za-z0-9_-]+$/.test(text) ? Buffer.from(text, 'base64url') : undefined
}

function derive(password: string, salt: Buffer, { N, r, p }: ScryptParams, length: number): Promise<Buffer> {
  // NFKC, as NIST SP 800-63B asks: the same password typed on two keyboards hashes the same.
  const input = password.normalize('NFKC')
  return new Promise((resolve, reject) => {
    // scrypt needs about 128·N·r bytes; Node's default cap (32 MiB) is exactly the default's need.
    scrypt(input, salt, length, { N, r, p, maxmem: 256 * N * r }, (error, key) =>
      error ? reject(error) : resolve(key),
    )
  })
}
