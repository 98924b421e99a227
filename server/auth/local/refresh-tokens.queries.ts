import type { Selectable } from 'kysely'
import type { Db, RefreshTokensTable, Trx } from '../../db/schema.ts'

export type RefreshTokenRow = Selectable<RefreshTokensTable>

export async function insertRefreshToken(db: Db | Trx, row: RefreshTokenRow): Promise<void> {
  await db.insertInto('refresh_tokens').values(row).execute()
}

export async function findRefreshTokenByHash(db: Db | Trx, tokenHash: string): Promise<RefreshTokenRow | undefined> {
  return db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
}

/**
 * Marks a token as rotated, only if nobody did first: the conditional UPDATE is what lets exactly
 * one of two concurrent refreshes with the same token win. True for the winner.
 */
export async function markRefreshTokenUsed(db: Db | Trx, id: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('refresh_tokens')
    .set({ used_at: now })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** Revokes every token of a family that is not revoked yet (a sign-out, or a detected reuse). */
export async function revokeRefreshTokenFamily(db: Db | Trx, familyId: string, now: number): Promise<number> {
  const result = await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: now })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}
