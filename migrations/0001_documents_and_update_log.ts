/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not depend on today's schema types */
import { type Kysely, sql } from 'kysely'
import { blobType, idType, textType, timeType } from './dialect.ts'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('documents')
    .addColumn('id', idType(db), (c) => c.primaryKey())
    .addColumn('title', textType(db, 255), (c) => c.notNull())
    .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .addColumn('updated_at', timeType(db), (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('document_updates')
    .addColumn('document_id', idType(db), (c) => c.notNull().references('documents.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('data', blobType(db), (c) => c.notNull())
    .addColumn('bytes', 'integer', (c) => c.notNull())
    .addColumn('kind', idType(db, 16), (c) => c.notNull())
    .addColumn('authors', sql`text`, (c) => c.notNull())
    .addColumn('label', textType(db, 255))
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .addPrimaryKeyConstraint('document_updates_pk', ['document_id', 'seq'])
    .execute()

  await db.schema
    .createTable('document_checkpoints')
    .addColumn('document_id', idType(db), (c) => c.notNull().references('documents.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('data', blobType(db), (c) => c.notNull())
    .addColumn('bytes', 'integer', (c) => c.notNull())
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .addPrimaryKeyConstraint('document_checkpoints_pk', ['document_id', 'seq'])
    .execute()

  await db.schema.createIndex('documents_updated_at_idx').on('documents').column('updated_at').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('document_checkpoints').execute()
  await db.schema.dropTable('document_updates').execute()
  await db.schema.dropTable('documents').execute()
}
