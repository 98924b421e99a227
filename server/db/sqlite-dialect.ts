import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite'
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type SqliteDatabase,
  SqliteDialect,
  SqliteDriver,
} from 'kysely'

/**
 * Kysely over Node's built-in `node:sqlite`, so the default install needs no native addon.
 * No published dialect targets `node:sqlite`; Kysely's SqliteDialect only needs a
 * better-sqlite3-shaped object, which `wrap` provides.
 */
export function createSqliteDialect(file: string): Dialect {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const raw = new DatabaseSync(file)
  // WAL lets readers proceed during a write; busy_timeout makes a second process wait for the
  // write lock instead of failing at once (several instances may migrate the same file at start).
  raw.exec(
    'PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;',
  )
  const config = { database: wrap(raw) }
  const base = new SqliteDialect(config)
  return {
    createDriver: () => new ImmediateSqliteDriver(config),
    createQueryCompiler: () => base.createQueryCompiler(),
    createAdapter: () => base.createAdapter(),
    createIntrospector: (db) => base.createIntrospector(db),
  }
}

/**
 * `BEGIN IMMEDIATE` takes the write lock when the transaction starts. With a plain deferred `BEGIN`,
 * two processes that both read and then write deadlock on the lock upgrade, and SQLite fails one of
 * them with SQLITE_BUSY at once, ignoring busy_timeout.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

function bind(parameters: readonly unknown[]): SQLInputValue[] {
  return parameters.map((p) => {
    if (typeof p === 'boolean') return p ? 1 : 0
    if (p instanceof Date) return p.getTime()
    if (p === undefined) return null
    return p as SQLInputValue
  })
}

function wrap(db: DatabaseSync): SqliteDatabase {
  // Preparing is a measurable share of small queries; the update log reuses a handful of statements.
  const statements = new Map<string, StatementSync>()
  const prepare = (sql: string) => {
    let statement = statements.get(sql)
    if (!statement) {
      statement = db.prepare(sql)
      if (statements.size >= 256) statements.delete(statements.keys().next().value as string)
      statements.set(sql, statement)
    }
    return statement
  }
  return {
    close: () => db.close(),
    prepare(sql) {
      const statement = prepare(sql)
      return {
        get reader() {
          return statement.columns().length > 0
        },
        all: (parameters) => statement.all(...bind(parameters)),
        run: (parameters) => {
          const { changes, lastInsertRowid } = statement.run(...bind(parameters))
          return { changes, lastInsertRowid }
        },
        iterate: (parameters) => statement.iterate(...bind(parameters)),
      }
    },
  }
}
