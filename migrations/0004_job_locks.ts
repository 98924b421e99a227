/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not depend on today's schema types */
import type { Kysely } from 'kysely'
import { idType, timeType } from './dialect.ts'

export async function up(db: Kysely<any>): Promise<void> {
  // One row per background job that must run on one instance at a time (a lease: whoever holds an
  // unexpired row runs the job; a crashed holder's lease simply runs out).
  await db.schema
    .createTable('job_locks')
    .addColumn('name', idType(db, 64), (c) => c.primaryKey())
    .addColumn('holder', idType(db, 64), (c) => c.notNull())
    .addColumn('expires_at', timeType(db), (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('job_locks').execute()
}
