/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not depend on today's schema types */
import { type Kysely, MysqlAdapter, type RawBuilder, sql } from 'kysely'

// Shared by migrations; migrations import nothing from server/, and this file only ever gains functions.

export function isMysql(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof MysqlAdapter
}

/** Binary column: LONGBLOB on MySQL (BLOB caps at 64 KiB), BLOB on SQLite. */
export function blobType(db: Kysely<any>): RawBuilder<unknown> {
  return isMysql(db) ? sql`longblob` : sql`blob`
}

/** Identifier column: case-sensitive and ASCII on MySQL, whose default collation would fold "Doc" into "doc". */
export function idType(db: Kysely<any>, length = 128): RawBuilder<unknown> {
  return isMysql(db) ? sql.raw(`varchar(${length}) character set ascii collate ascii_bin`) : sql`text`
}

/** Milliseconds since the epoch. */
export function timeType(db: Kysely<any>): RawBuilder<unknown> {
  return isMysql(db) ? sql`bigint` : sql`integer`
}

/** Free text in full Unicode on MySQL. */
export function textType(db: Kysely<any>, length: number): RawBuilder<unknown> {
  return isMysql(db)
    ? sql.raw(`varchar(${length}) character set utf8mb4 collate utf8mb4_unicode_ci`)
    : sql`text`
}

/** Long free text (JSON payloads): MEDIUMTEXT (16 MiB) on MySQL, whose TEXT stops at 64 KiB. */
export function longTextType(db: Kysely<any>): RawBuilder<unknown> {
  return isMysql(db) ? sql`mediumtext character set utf8mb4 collate utf8mb4_unicode_ci` : sql`text`
}

/** An auto-incrementing integer key: BIGINT on MySQL, SQLite's INTEGER (its rowid, 64-bit). */
export function serialType(db: Kysely<any>): RawBuilder<unknown> {
  return isMysql(db) ? sql`bigint` : sql`integer`
}
