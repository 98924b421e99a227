import { CLOCK_TOLERANCE_SECONDS, type VerifiedIdentity } from './identity-provider.ts'

/** Tokens remembered at most; the oldest is forgotten first. A token is a few hundred bytes. */
const MAX_ENTRIES = 10_000
/** Identities without an expiry (none today) are re-verified after this long. */
const MAX_AGE_MS = 60_000

/**
 * Remembers the outcome of verifying an access token until the token expires. A signature check
 * is deterministic: the same token verifies the same way until its `exp` (+ the clock tolerance
 * every check allows), so checking it again for each socket a user opens (one per document, per
 * tab) is work for nothing (jose's HMAC goes through WebCrypto's thread pool each time).
 * Revocation doesn't live in the signature: sign-outs and deleted accounts are checked after
 * verification (the user lookup, socket sessions), as before. Failures are never cached.
 */
export class VerifiedTokens {
  readonly #entries = new Map<string, { identity: VerifiedIdentity; validUntil: number }>()
  readonly #verify: (token: string) => Promise<VerifiedIdentity>

  constructor(verify: (token: string) => Promise<VerifiedIdentity>) {
    this.#verify = verify
  }

  async verify(token: string): Promise<VerifiedIdentity> {
    const now = Date.now()
    const cached = this.#entries.get(token)
    if (cached && now <= cached.validUntil) return cached.identity
    if (cached) this.#entries.delete(token)
    // Expired tokens fall through to the provider, which says so in its own words.
    const identity = await this.#verify(token)
    const validUntil =
      identity.expiresAt === undefined ? now + MAX_AGE_MS : identity.expiresAt + CLOCK_TOLERANCE_SECONDS * 1000
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value as string)
    this.#entries.set(token, { identity, validUntil })
    return identity
  }
}
