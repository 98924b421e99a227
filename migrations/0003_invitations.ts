/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not depend on today's schema types */
import type { Kysely } from 'kysely'
import { idType, textType, timeType } from './dialect.ts'

export async function up(db: Kysely<any>): Promise<void> {
  // Invitations by email for people without an account yet; each becomes a document_members row
  // when that email signs up (built-in) or first signs in (Clerk), and is deleted then.
  await db.schema
    .createTable('document_invitations')
    .addColumn('id', idType(db), (c) => c.primaryKey())
    .addColumn('document_id', idType(db), (c) => c.notNull().references('documents.id').onDelete('cascade'))
    // Normalised (trimmed, lower-cased), the same type as users.email so the two compare alike.
    .addColumn('email', textType(db, 320), (c) => c.notNull())
    .addColumn('role', idType(db, 16), (c) => c.notNull())
    .addColumn('invited_by', idType(db), (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .addColumn('updated_at', timeType(db), (c) => c.notNull())
    .addUniqueConstraint('document_invitations_document_email_uq', ['document_id', 'email'])
    .execute()
  await db.schema.createIndex('document_invitations_email_idx').on('document_invitations').column('email').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('document_invitations').execute()
}
