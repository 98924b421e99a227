import { Kysely, MysqlDialect } from 'kysely'
import { createPool } from 'mysql2'
import type { DatabaseTarget } from '../config/config.ts'
import type { Database, Db } from './schema.ts'
import { createSqliteDialect } from './sqlite-dialect.ts'

export interface DatabaseHandle {
  db: Db
  kind: DatabaseTarget['kind']
  close(): Promise<void>
}

export function connectDatabase(target: DatabaseTarget, options: { poolSize?: number } = {}): DatabaseHandle {
  const dialect =
    target.kind === 'sqlite'
      ? createSqliteDialect(target.file)
      : new MysqlDialect({
          // Kysely wants the callback pool from 'mysql2', not 'mysql2/promise'.
          pool: createPool({
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
