import { describe, expect, it } from 'vitest'
import { AuthError } from '../../server/auth/caller.ts'
import { CLOCK_TOLERANCE_SECONDS, type VerifiedIdentity } from '../../server/auth/identity-provider.ts'
import { VerifiedTokens } from '../../server/auth/verified-tokens.ts'

/** A provider that counts its verifications; `tokens` maps a token to who it names, or the error. */
function provider(tokens: Record<string, VerifiedIdentity | AuthError>) {
  const calls: string[] = []
  const verify = async (token: string) => {
    calls.push(token)
    const outcome = tokens[token]
    if (!outcome) throw new AuthError('token-invalid')
    if (outcome instanceof AuthError) throw outcome
    return outcome
  }
  return { calls, verify }
}

describe('verified tokens', () => {
  it('verifies a token once while it is valid, and hands every caller the same identity', async () => {
    const identity = { userId: 'u1', sessionId: 's1', expiresAt: Date.now() + 60_000 }
    const { calls, verify } = provider({ good: identity })
    const tokens = new VerifiedTokens(verify)
    const results = await Promise.all([tokens.verify('good'), tokens.verify('good')])
    for (let i = 0; i < 10; i++) results.push(await tokens.verify('good'))
    expect(results.every((r) => r === identity)).toBe(true)
    // The two at once may both verify; after that, none.
    expect(calls.length).toBeLessThanOrEqual(2)
  })

  it('asks the provider again once the token is past its expiry and the clock tolerance', async () => {
    const expiresAt = Date.now() - CLOCK_TOLERANCE_SECONDS * 1000 - 1
    const { calls, verify } = provider({ late: { userId: 'u1', expiresAt } })
    const tokens = new VerifiedTokens(verify)
    await tokens.verify('late')
    await tokens.verify('late')
    expect(calls).toEqual(['late', 'late'])
  })

  it('within the clock tolerance after expiry a token still counts, as the provider itself allows', async () => {
    const expiresAt = Date.now() - 1_000
    const { calls, verify } = provider({ recent: { userId: 'u1', expiresAt } })
    const tokens = new VerifiedTokens(verify)
    await tokens.verify('recent')
    await tokens.verify('recent')
    expect(calls).toEqual(['recent'])
  })

  it('never remembers a failure: a bad token is refused every time, by the provider', async () => {
    const { calls, verify } = provider({ expired: new AuthError('token-expired') })
    const tokens = new VerifiedTokens(verify)
    for (const token of ['expired', 'expired', 'forged', 'forged']) {
      await expect(tokens.verify(token)).rejects.toBeInstanceOf(AuthError)
    }
    expect(calls).toEqual(['expired', 'expired', 'forged', 'forged'])
    await expect(tokens.verify('expired')).rejects.toMatchObject({ reason: 'token-expired' })
  })

  it('keeps a bounded number of tokens, forgetting the oldest first', async () => {
    const expiresAt = Date.now() + 60_000
    const calls: string[] = []
    const tokens = new VerifiedTokens(async (token) => {
      calls.push(token)
      return { userId: token, expiresAt }
    })
    for (let i = 0; i <= 10_000; i++) await tokens.verify(`t${i}`)
    calls.length = 0
    await tokens.verify('t10000')
    await tokens.verify('t1')
    await tokens.verify('t0')
    expect(calls).toEqual(['t0'])
  })
})
