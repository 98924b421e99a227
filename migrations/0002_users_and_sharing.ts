/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not depend on today's schema types */
import type { Kysely } from 'kysely'
import { idType, textType, timeType } from './dialect.ts'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', idType(db), (c) => c.primaryKey())
    // Normalised (trimmed, lower-cased); null for a Clerk user whose token carries no email.
    .addColumn('email', textType(db, 320))
    .addColumn('name', textType(db, 255), (c) => c.notNull())
    // scrypt hash for built-in accounts; null for Clerk users.
    .addColumn('password_hash', idType(db, 255))
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .addColumn('updated_at', timeType(db), (c) => c.notNull())
    .execute()
  await db.schema.createIndex('users_email_uq').on('users').column('email').unique().execute()

  await db.schema
    .createTable('refresh_tokens')
    .addColumn('id', idType(db), (c) => c.primaryKey())
    .addColumn('user_id', idType(db), (c) => c.notNull().references('users.id').onDelete('cascade'))
    // Every token minted by rotation from one login shares a family; reuse of a rotated token revokes it.
    .addColumn('family_id', idType(db), (c) => c.notNull())
    // SHA-256 of the token: the token itself is never stored.
    .addColumn('token_hash', idType(db, 64), (c) => c.notNull().unique())
    .addColumn('expires_at', timeType(db), (c) => c.notNull())
    .addColumn('used_at', timeType(db))
    .addColumn('revoked_at', timeType(db))
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .execute()
  await db.schema.createIndex('refresh_tokens_family_idx').on('refresh_tokens').column('family_id').execute()

  await db.schema
    .alterTable('documents')
    .addColumn('owner_id', idType(db), (c) => c.references('users.id').onDelete('cascade'))
    .execute()
  await db.schema.createIndex('documents_owner_idx').on('documents').columns(['owner_id', 'updated_at']).execute()

  await db.schema
    .createTable('document_members')
    .addColumn('document_id', idType(db), (c) => c.notNull().references('documents.id').onDelete('cascade'))
    .addColumn('user_id', idType(db), (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', idType(db, 16), (c) => c.notNull())
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .addColumn('updated_at', timeType(db), (c) => c.notNull())
    .addPrimaryKeyConstraint('document_members_pk', ['document_id', 'user_id'])
    .execute()
  await db.schema.createIndex('document_members_user_idx').on('document_members').column('user_id').execute()

  await db.schema
    .createTable('share_links')
    .addColumn('id', idType(db), (c) => c.primaryKey())
    .addColumn('document_id', idType(db), (c) => c.notNull().references('documents.id').onDelete('cascade'))
    .addColumn('token_hash', idType(db, 64), (c) => c.notNull().unique())
    .addColumn('role', idType(db, 16), (c) => c.notNull())
    .addColumn('expires_at', timeType(db))
    .addColumn('revoked_at', timeType(db))
    .addColumn('created_by', idType(db), (c) => c.notNull())
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .execute()
  await db.schema.createIndex('share_links_document_idx').on('share_links').column('document_id').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('share_links').execute()
  await db.schema.dropTable('document_members').execute()
  await db.schema.dropIndex('documents_owner_idx').on('documents').execute()
  await db.schema.alterTable('documents').dropColumn('owner_id').execute()
  await db.schema.dropTable('refresh_tokens').execute()
  await db.schema.dropTable('users').execute()
}
