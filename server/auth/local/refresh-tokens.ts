import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Db } from '../../db/schema.ts'
import { hashToken } from '../../sharing/share-link-tokens.ts'
import { AuthError } from '../caller.ts'
import type { SessionEvents } from '../session-events.ts'
import {
  findRefreshTokenByHash,
  insertRefreshToken,
  markRefreshTokenUsed,
  type RefreshTokenRow,
  revokeRefreshTokenFamily,
} from './refresh-tokens.queries.ts'

export const REFRESH_TOKEN_PREFIX = 'rt_'

/**
 * Opaque, single-use refresh tokens, stored only as their SHA-256. Each sign-in starts a family;
 * every refresh retires the presented token and issues the next one in the same family. A retired
 * token presented again means two parties hold the family (a stolen token), so the whole family
 * is revoked and both must sign in again.
 */
export interface IssuedRefreshToken {
  token: string
  /** The sign-in it belongs to; access tokens carry it as `sid`. */
  familyId: string
}

export interface RefreshTokens {
  /** Starts a new family (a sign-in) and returns its first token. */
  issue(userId: string): Promise<IssuedRefreshToken>
  /** Retires `token` and returns its successor; throws `AuthError` when it is not usable. */
  rotate(token: string): Promise<IssuedRefreshToken & { userId: string }>
  /** Signs out the family `token` belongs to. Unknown or already revoked tokens are ignored. */
  revoke(token: string): Promise<void>
}

export function createRefreshTokens(
  db: Db,
  options: { ttlSeconds: number; log: FastifyBaseLogger; sessions?: SessionEvents },
): RefreshTokens {
  const newRow = (userId: string, familyId: string, now: number): { token: string; row: RefreshTokenRow } => {
    const token = REFRESH_TOKEN_PREFIX + randomBytes(32).toString('base64url')
    return {
      token,
      row: {
        id: randomId(),
        user_id: userId,
        family_id: familyId,
        token_hash: hashToken(token),
        // Sliding: each token lives the full TTL from its own issue, so an active client stays signed in.
        expires_at: now + options.ttlSeconds * 1000,
        used_at: null,
        revoked_at: null,
        created_at: now,
      },
    }
  }
  const find = (token: string) =>
    token.startsWith(REFRESH_TOKEN_PREFIX) ? findRefreshTokenByHash(db, hashToken(token)) : Promise.resolve(undefined)
  const revokeForReuse = async (row: RefreshTokenRow, now: number) => {
    await revokeRefreshTokenFamily(db, row.family_id, now)
    options.sessions?.ended({ sessionId: row.family_id, userId: row.user_id, reason: 'refresh-token-reused' })
    options.log.warn(
      { userId: row.user_id, familyId: row.family_id },
      'a rotated refresh token was presented again; revoked its family',
    )
    return new AuthError('refresh-token-reused')
  }

  return {
    async issue(userId) {
      const { token, row } = newRow(userId, randomId(), Date.now())
      await insertRefreshToken(db, row)
      return { token, familyId: row.family_id }
    },

    async rotate(token) {
      const now = Date.now()
      const row = await find(token)
      if (!row || row.revoked_at !== null) throw new AuthError('refresh-token-invalid')
      if (row.used_at !== null) throw await revokeForReuse(row, now)
      if (row.expires_at <= now) throw new AuthError('refresh-token-expired')
      const next = newRow(row.user_id, row.family_id, now)
      const won = await db.transaction().execute(async (trx) => {
        if (!(await markRefreshTokenUsed(trx, row.id, now))) return false
        await insertRefreshToken(trx, next.row)
        return true
      })
      // Another refresh (or a sign-out) with the same token got there first: treat it as a reuse.
      if (!won) throw await revokeForReuse(row, now)
      return { userId: row.user_id, token: next.token, familyId: row.family_id }
    },

    async revoke(token) {
      const row = await find(token)
      if (!row) return
      await revokeRefreshTokenFamily(db, row.family_id, Date.now())
      options.sessions?.ended({ sessionId: row.family_id, userId: row.user_id, reason: 'signed-out' })
    },
  }
}

function randomId(): string {
  return randomBytes(16).toString('base64url')
}
