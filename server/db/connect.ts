import { createRequire } from 'node:module'
import { Kysely, MysqlDialect } from 'kysely'
import type * as Mysql2 from 'mysql2'
import type { DatabaseTarget } from '../config/config.ts'
import type { Database, Db } from './schema.ts'
import { createSqliteDialect } from './sqlite-dialect.ts'

export interface DatabaseHandle {
  db: Db
  kind: DatabaseTarget['kind']
  close(): Promise<void>
}

// The MySQL driver is loaded by MySQL deployments only (a few MB of heap a SQLite server never uses).
const loadMysql2 = () => createRequire(import.meta.url)('mysql2') as typeof Mysql2

export function connectDatabase(target: DatabaseTarget, options: { poolSize?: number } = {}): DatabaseHandle {
  const dialect =
    target.kind === 'sqlite'
      ? createSqliteDialect(target.file)
      : new MysqlDialect({
          // Kysely wants the callback pool from 'mysql2', not 'mysql2/promise'.
          pool: loadMysql2().createPool({
            uri: target.url,
            connectionLimit: options.poolSize ?? 10,
            supportBigNumbers: true,
            bigNumberStrings: false,
            charset: 'utf8mb4',
            enableKeepAlive: true,
          }),
        })
  const db = new Kysely<Database>({ dialect })
  let closed: Promise<void> | undefined
  return {
    db,
    kind: target.kind,
    close: () => {
      closed ??= db.destroy()
      return closed
    },
  }
}
