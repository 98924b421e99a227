import type { TestProject } from 'vitest/node'
import { checkMysqlUrl, redactUrl, startPrivateMariadb } from './mariadb.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /**
     * `mysql://user:pass@host:port/` with no database: each test file creates (and drops) its own.
     * Empty when TEST_DATABASES does not include mysql.
     */
    mysqlUrl: string
  }
}

/** The databases the suites run on: `TEST_DATABASES` (comma list), default `sqlite,mysql`. */
export function requestedDatabases(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env.TEST_DATABASES?.trim() || 'sqlite,mysql'
  return raw
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean)
}

/**
 * Provides `mysqlUrl` to the tests. `TEST_MYSQL_URL` wins when set (checked before any test runs);
 * otherwise a private MariaDB is started from local binaries (installed with apt when missing and
 * we are root) and stopped at the end. If mysql is requested and cannot be provided, this throws,
 * which fails the run: the MySQL suite is never skipped silently.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (!requestedDatabases().includes('mysql')) {
    project.provide('mysqlUrl', '')
    return undefined
  }

  const externalUrl = process.env.TEST_MYSQL_URL?.trim()
  if (externalUrl) {
    await checkMysqlUrl(externalUrl)
    process.stderr.write(`[mysql setup] using TEST_MYSQL_URL ${redactUrl(externalUrl)}\n`)
    project.provide('mysqlUrl', externalUrl)
    return undefined
  }

  const server = await startPrivateMariadb()
  project.provide('mysqlUrl', server.url)
  return async () => {
    await server.stop()
  }
}
