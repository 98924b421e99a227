import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createConnection } from 'mysql2/promise'
import { afterAll, describe, inject } from 'vitest'
import type { DatabaseTarget } from '../../server/config/config.ts'

export type DatabaseKind = DatabaseTarget['kind']

/** Databases the suite runs on: `TEST_DATABASES` (default both). CI never narrows it. */
export const TEST_DATABASES: DatabaseKind[] = (process.env.TEST_DATABASES ?? 'sqlite,mysql')
  .split(',')
  .map((s) => s.trim())
  .filter((s): s is DatabaseKind => s === 'sqlite' || s === 'mysql')

export interface TestDatabases {
  kind: DatabaseKind
  /** A fresh, empty database (a new SQLite file, or a new MySQL schema), dropped after the file. */
  create(): Promise<DatabaseTarget>
}

/**
 * Runs `body` once per database, in a describe named `[sqlite] …` / `[mysql] …` (CI checks that
 * the `[mysql]` tests ran). If MySQL is asked for and unreachable, the tests fail; they never skip.
 */
export function describeEachDatabase(name: string, body: (databases: TestDatabases) => void): void {
  for (const kind of TEST_DATABASES) {
    describe(`[${kind}] ${name}`, () => {
      const created: (() => Promise<void>)[] = []
      afterAll(async () => {
        for (const drop of created) await drop()
      })
      body({
        kind,
        async create() {
          const { target, drop } = kind === 'sqlite' ? createSqliteDatabase() : await createMysqlDatabase()
          created.push(drop)
          return target
        },
      })
    })
  }
}

function createSqliteDatabase(): { target: DatabaseTarget; drop: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'collab-test-'))
  const file = join(dir, 'collab.db')
  return {
    target: { kind: 'sqlite', file, url: `sqlite:${file}` },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  }
}

async function createMysqlDatabase(): Promise<{ target: DatabaseTarget; drop: () => Promise<void> }> {
  const adminUrl = inject('mysqlUrl')
  if (!adminUrl)
    throw new Error('MySQL tests were requested but no MySQL server was provided (see tests/setup)')
  const name = `collab_test_${randomBytes(6).toString('hex')}`
  const admin = await createConnection({ uri: adminUrl })
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`)
  } finally {
    await admin.end()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    target: { kind: 'mysql', url: url.toString() },
    drop: async () => {
      const conn = await createConnection({ uri: adminUrl })
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``)
      } finally {
        await conn.end()
      }
    },
  }
}
