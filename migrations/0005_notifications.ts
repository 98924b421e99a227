/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not depend on today's schema types */
import type { Kysely } from 'kysely'
import { idType, longTextType, serialType, textType, timeType } from './dialect.ts'

export async function up(db: Kysely<any>): Promise<void> {
  // A user's inbox. No foreign key to documents: a `document.deleted` item outlives its document.
  await db.schema
    .createTable('notifications')
    .addColumn('id', idType(db, 64), (c) => c.primaryKey())
    .addColumn('user_id', idType(db), (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('type', idType(db, 32), (c) => c.notNull())
    .addColumn('document_id', idType(db))
    .addColumn('document_title', textType(db, 255), (c) => c.notNull())
    .addColumn('actors', longTextType(db), (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .addColumn('updated_at', timeType(db), (c) => c.notNull())
    .addColumn('read_at', timeType(db))
    .addColumn('digested_at', timeType(db))
    .execute()
  await db.schema.createIndex('notifications_user_updated_idx').on('notifications').columns(['user_id', 'updated_at']).execute()
  await db.schema
    .createIndex('notifications_user_document_idx')
    .on('notifications')
    .columns(['user_id', 'document_id', 'type'])
    .execute()

  // What a user's live streams replay after `Last-Event-ID`: ids order a user's events across
  // connections and instances.
  await db.schema
    .createTable('notification_events')
    .addColumn('id', serialType(db), (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', idType(db), (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('event', idType(db, 32), (c) => c.notNull())
    .addColumn('data', longTextType(db), (c) => c.notNull())
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .execute()
  await db.schema.createIndex('notification_events_user_idx').on('notification_events').columns(['user_id', 'id']).execute()

  await db.schema
    .createTable('document_subscriptions')
    .addColumn('document_id', idType(db), (c) => c.notNull().references('documents.id').onDelete('cascade'))
    .addColumn('user_id', idType(db), (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('muted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', timeType(db), (c) => c.notNull())
    .addPrimaryKeyConstraint('document_subscriptions_pk', ['document_id', 'user_id'])
    .execute()

  await db.schema
    .createTable('notification_settings')
    .addColumn('user_id', idType(db), (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('email', idType(db, 16), (c) => c.notNull())
    .addColumn('digest_minutes', 'integer', (c) => c.notNull())
    .addColumn('last_digest_at', timeType(db))
    .addColumn('updated_at', timeType(db), (c) => c.notNull())
    .execute()

  // Email and webhooks leave through here, written in the same transaction as what caused them.
  await db.schema
    .createTable('outbox')
    .addColumn('id', idType(db, 64), (c) => c.primaryKey())
    .addColumn('channel', idType(db, 16), (c) => c.notNull())
    .addColumn('idempotency_key', idType(db, 191), (c) => c.notNull().unique())
    .addColumn('payload', longTextType(db), (c) => c.notNull())
    .addColumn('status', idType(db, 16), (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', timeType(db), (c) => c.notNull())
    .addColumn('claimed_by', idType(db, 64))
    .addColumn('claimed_until', timeType(db))
    .addColumn('last_error', textType(db, 1000))
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .addColumn('delivered_at', timeType(db))
    .execute()
  await db.schema.createIndex('outbox_due_idx').on('outbox').columns(['status', 'next_attempt_at']).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['outbox', 'notification_settings', 'document_subscriptions', 'notification_events', 'notifications']) {
    await db.schema.dropTable(table).execute()
  }
}
