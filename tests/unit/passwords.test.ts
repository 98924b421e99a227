import { describe, expect, it } from 'vitest'
import { DEFAULT_SCRYPT_PARAMS, hashPassword, verifyPassword } from '../../server/auth/local/passwords.ts'

// Cheap parameters where the cost itself is not under test.
const FAST = { N: 1024, r: 8, p: 1 }

describe('password hashing', () => {
  it('hashes with the default parameters written into the hash, and verifies', async () => {
    const hash = await hashPassword('correct horse battery staple')
    const { N, r, p } = DEFAULT_SCRYPT_PARAMS
    expect(hash).toMatch(new RegExp(`^scrypt\\$${N}\\$${r}\\$${p}\\$[A-Za-z0-9_-]{22}\\$[A-Za-z0-9_-]{43}$`))
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true)
    expect(await verifyPassword('correct horse battery stapler', hash)).toBe(false)
  })

  it('salts every hash differently', async () => {
    const [a, b] = await Promise.all([hashPassword('same password', FAST), hashPassword('same password', FAST)])
    expect(a).not.toBe(b)
    expect(a.split('$')[4]).not.toBe(b.split('$')[4])
    expect(await verifyPassword('same password', a)).toBe(true)
    expect(await verifyPassword('same password', b)).toBe(true)
  })

  it('refuses wrong passwords, including case and whitespace changes', async () => {
    const hash = await hashPassword('Secret-passw0rd', FAST)
    for (const wrong of ['secret-passw0rd', 'Secret-passw0rd ', ' Secret-passw0rd', '', 'Secret-passw0r']) {
      expect(await verifyPassword(wrong, hash), JSON.stringify(wrong)).toBe(false)
    }
  })

  it('keeps verifying hashes made with other parameters', async () => {
    const hash = await hashPassword('older account', { N: 2048, r: 4, p: 2 })
    expect(hash.startsWith('scrypt$2048$4$2$')).toBe(true)
    expect(await verifyPassword('older account', hash)).toBe(true)
    expect(await verifyPassword('other', hash)).toBe(false)
  })

  it('treats canonically equivalent Unicode spellings as the same password', async () => {
    const composed = 'caf\u00e9-au-lait'
    const decomposed = 'cafe\u0301-au-lait'
    const hash = await hashPassword(composed, FAST)
    expect(await verifyPassword(decomposed, hash)).toBe(true)
  })

  it('answers false, without throwing, for missing and malformed hashes', async () => {
    const good = await hashPassword('password', FAST)
    const [, , , , salt = '', key = ''] = good.split('$')
    const malformed = [
      null,
      undefined,
      '',
      'password',
      '$2b$12$abcdefghijklmnopqrstuu2WJUsl8BzV9dyjxEqtZP8GyZfSmWpnW',
      `argon2$1024$8$1$${salt}$${key}`,
      `scrypt$1000$8$1$${salt}$${key}`, // N not a power of two
      `scrypt$0$8$1$${salt}$${key}`,
      `scrypt$${2 ** 30}$8$1$${salt}$${key}`, // would need 128 GiB
      `scrypt$1024$8$-1$${salt}$${key}`,
      `scrypt$1024$8$1$${salt}`,
      `scrypt$1024$8$1$${salt}$${key}$extra`,
      `scrypt$1024$8$1$${salt}$not base64!`,
      `scrypt$1024$8$1$$${key}`,
      `scrypt$1024$8$1$${salt}$${key.slice(0, 8)}`,
    ]
    for (const hash of malformed) {
      expect(await verifyPassword('password', hash), String(hash)).toBe(false)
    }
    // The good hash still verifies: the cases above differ only in what was broken.
    expect(await verifyPassword('password', good)).toBe(true)
  })

  it('spends about as long on a missing hash as on a real one (no shortcut for unknown emails)', async () => {
    const real = await hashPassword('password')
    const time = async (hash: string | null) => {
      const start = performance.now()
      await verifyPassword('password', hash)
      return performance.now() - start
    }
    // Warm up, then compare medians: a shortcut would be orders of magnitude faster.
    await time(real)
    const samples = async (hash: string | null) => {
      const runs = [await time(hash), await time(hash), await time(hash)]
      return runs.sort((a, b) => a - b)[1]!
    }
    const withHash = await samples(real)
    const withoutHash = await samples(null)
    expect(withoutHash).toBeGreaterThan(withHash / 3)
  })
})
