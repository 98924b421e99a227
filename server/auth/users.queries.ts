import type { Db, UserRow } from '../db/schema.ts'
import { acceptInvitations } from '../sharing/invitations.queries.ts'
import type { AuthUser } from './caller.ts'
import type { VerifiedIdentity } from './identity-provider.ts'

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase()
}

export function toAuthUser(row: Pick<UserRow, 'id' | 'email' | 'name'>): AuthUser {
  return { id: row.id, email: row.email, name: row.name }
}

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', normaliseEmail(email)).executeTakeFirst()
}

/** Inserts a user; returns false when the id or the email is taken. */
export async function insertUser(
  db: Db,
  user: { id: string; email: string | null; name: string; passwordHash: string | null },
  now = Date.now(),
): Promise<boolean> {
  const result = await db
    .insertInto('users')
    .ignore()
    .values({
      id: user.id,
      email: user.email === null ? null : normaliseEmail(user.email),
      name: user.name,
      password_hash: user.passwordHash,
      created_at: now,
      updated_at: now,
    })
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0
}

/**
 * The users row for a verified identity. With `createIfMissing` (Clerk), a user seen for the first
 * time is mirrored, and a changed name or email is kept up to date; an email already held by another
 * account is not copied (emails stay unique). When the account gets an email, pending invitations
 * for it become memberships in the same transaction.
 */
export async function mirrorUser(
  db: Db,
  identity: VerifiedIdentity,
  options: { createIfMissing: boolean },
): Promise<AuthUser | undefined> {
  const existing = await findUserById(db, identity.userId)
  const email = identity.email ? normaliseEmail(identity.email) : undefined
  const name = identity.name?.trim() || undefined
  if (existing) {
    const changes: { email?: string; name?: string } = {}
    if (email && email !== existing.email && !(await findUserByEmail(db, email))) changes.email = email
    if (name && name !== existing.name) changes.name = name
    if (Object.keys(changes).length === 0) return toAuthUser(existing)
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('users')
        .set({ ...changes, updated_at: Date.now() })
        .where('id', '=', existing.id)
        .execute()
      if (changes.email) await acceptInvitations(trx, { id: existing.id, email: changes.email })
    })
    return toAuthUser({ ...existing, ...changes })
  }
  if (!options.createIfMissing) return undefined
  const freeEmail = email && !(await findUserByEmail(db, email)) ? email : null
  await db.transaction().execute(async (trx) => {
    const user = { id: identity.userId, email: freeEmail, name: name ?? freeEmail ?? identity.userId, passwordHash: null }
    // Two first requests at once: only the one that inserted the row accepts the invitations.
    if ((await insertUser(trx, user)) && freeEmail) await acceptInvitations(trx, { id: user.id, email: freeEmail })
  })
  const row = await findUserById(db, identity.userId)
  return row && toAuthUser(row)
}
