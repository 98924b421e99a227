import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite'
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  SqliteAdapter,
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
  if (file !== ':memory:') makePrivate(file)
  const raw = new DatabaseSync(file)
  // busy_timeout makes a second process wait for a lock instead of failing at once (several
  // instances may open and migrate the same file at start). It comes first: switching a fresh file
  // to WAL takes a lock too, and without the timeout a process starting alongside another fails
  // with "database is locked". WAL then lets readers proceed during a write.
  raw.exec(
    'PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;',
  )
  const config = { database: wrap(raw) }
  const base = new SqliteDialect(config)
  return {
    createDriver: () => new ImmediateSqliteDriver(config),
    createQueryCompiler: () => base.createQueryCompiler(),
    createAdapter: () => new MigrationLockingSqliteAdapter(file === ':memory:' ? file : resolve(file)),
    createIntrospector: (db) => base.createIntrospector(db),
  }
}

/**
 * The database holds password hashes and every document: only the server's user may read it. A
 * folder we create is 0700, the file 0600 (SQLite gives its -wal and -shm files the database file's
 * permissions); a file an older version left readable to others is tightened.
 */
function makePrivate(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  closeSync(openSync(file, 'a', 0o600))
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
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

/**
 * Kysely's SQLite adapter takes no migration lock and runs migrations outside a transaction, so two
 * instances starting on one file both try to create the tables. Here migrations run in one
 * transaction (SQLite has transactional DDL) opened with BEGIN IMMEDIATE, which holds the write
 * lock across processes while the migrator re-reads what has run. Within one process, connections
 * to the same file queue on a promise instead: node:sqlite waits for a lock synchronously, which
 * would block the very event loop the lock holder needs.
 */
class MigrationLockingSqliteAdapter extends SqliteAdapter {
  readonly #file: string
  #release: (() => void) | undefined
  constructor(file: string) {
    super()
    this.#file = file
  }
  override get supportsTransactionalDdl(): boolean {
    return true
  }
  override async acquireMigrationLock(): Promise<void> {
    this.#release = await lockInProcess(this.#file)
  }
  override async releaseMigrationLock(): Promise<void> {
    this.#release?.()
    this.#release = undefined
  }
}

const processLocks = new Map<string, Promise<void>>()

async function lockInProcess(key: string): Promise<() => void> {
  const previous = processLocks.get(key) ?? Promise.resolve()
  let release!: () => void
  const current = new Promise<void>((resolve) => {
    release = resolve
  })
  const chained = previous.then(() => current)
  processLocks.set(key, chained)
  await previous
  return () => {
    release()
    if (processLocks.get(key) === chained) processLocks.delete(key)
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
  // Preparing is a measurable share of small queries; the update log reuses a handful of
  // statements. Whether one returns rows is asked on every execution (Kysely's SQLite driver),
  // and `columns()` builds its column list each time: kept with the statement.
  const statements = new Map<string, { statement: StatementSync; reader: boolean }>()
  const prepare = (sql: string) => {
    let prepared = statements.get(sql)
    if (!prepared) {
      const statement = db.prepare(sql)
      prepared = { statement, reader: statement.columns().length > 0 }
      if (statements.size >= 256) statements.delete(statements.keys().next().value as string)
      statements.set(sql, prepared)
    }
    return prepared
  }
  return {
    close: () => db.close(),
    prepare(sql) {
      const { statement, reader } = prepare(sql)
      return {
        reader,
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
