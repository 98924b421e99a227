import type { Db, MemberRole } from '../db/schema.ts'

export async function findMemberRole(db: Db, documentId: string, userId: string): Promise<MemberRole | undefined> {
  const row = await db
    .selectFrom('document_members')
    .select('role')
    .where('document_id', '=', documentId)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return row?.role
}

function membersQuery(db: Db, documentId: string) {
  return db
    .selectFrom('document_members')
    .innerJoin('users', 'users.id', 'document_members.user_id')
    .select([
      'users.id as userId',
      'users.email as email',
      'users.name as name',
      'document_members.role as role',
      'document_members.created_at as createdAt',
    ])
    .where('document_members.document_id', '=', documentId)
}

export async function listMembers(db: Db, documentId: string) {
  return membersQuery(db, documentId).orderBy('document_members.created_at', 'asc').execute()
}

export type MemberRow = Awaited<ReturnType<typeof listMembers>>[number]

export async function findMember(db: Db, documentId: string, userId: string): Promise<MemberRow | undefined> {
  return membersQuery(db, documentId).where('document_members.user_id', '=', userId).executeTakeFirst()
}

/** Adds a member or changes their role. Returns 'created' or 'updated'. */
export async function upsertMember(
  db: Db,
  documentId: string,
  userId: string,
  role: MemberRole,
  now = Date.now(),
): Promise<'created' | 'updated'> {
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('document_members')
      .set({ role, updated_at: now })
      .where('document_id', '=', documentId)
      .where('user_id', '=', userId)
      .executeTakeFirst()
    if (Number(updated.numUpdatedRows) > 0) return 'updated'
    await trx
      .insertInto('document_members')
      .values({ document_id: documentId, user_id: userId, role, created_at: now, updated_at: now })
      .execute()
    return 'created'
  })
}

export async function removeMember(db: Db, documentId: string, userId: string): Promise<boolean> {
  const result = await db
    .deleteFrom('document_members')
    .where('document_id', '=', documentId)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}
