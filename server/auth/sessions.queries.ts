import type { Db } from '../db/schema.ts'

// Large IN lists are split: MySQL and SQLite both cap the number of bound parameters.
const CHUNK = 500

async function inChunks<T>(values: readonly string[], query: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = []
  for (let i = 0; i < values.length; i += CHUNK) out.push(...(await query(values.slice(i, i + CHUNK))))
  return out
}

/** Which of these user ids still have an account. */
export async function findExistingUserIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  const rows = await inChunks(ids, (chunk) => db.selectFrom('users').select('id').where('id', 'in', chunk).execute())
  return new Set(rows.map((row) => row.id))
}

/**
 * Which of these sign-ins (built-in refresh-token families) are still signed in: a family with no
 * unrevoked token was signed out, or revoked after a reused token.
 */
export async function findLiveSessions(db: Db, familyIds: readonly string[]): Promise<Set<string>> {
  const rows = await inChunks(familyIds, (chunk) =>
    db
      .selectFrom('refresh_tokens')
      .select('family_id')
      .distinct()
      .where('family_id', 'in', chunk)
      .where('revoked_at', 'is', null)
      .execute(),
  )
  return new Set(rows.map((row) => row.family_id))
}
