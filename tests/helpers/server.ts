import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Config, loadConfig } from '../../server/config/config.ts'
import { type RunningServer, startServer } from '../../server/server.ts'
import { defer } from './cleanup.ts'

/** Env-style overrides, validated exactly as production validates them. */
export type ConfigOverrides = Record<string, string>

// One data folder per database: a server restarted on the same database keeps its auth secret,
// so tokens minted before the restart stay valid, as in production.
const dataDirs = new Map<string, string>()
process.once('exit', () => {
  for (const dir of dataDirs.values()) rmSync(dir, { recursive: true, force: true })
})

function dataDirFor(database: Config['database']): string {
  let dir = dataDirs.get(database.url)
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'collab-data-'))
    dataDirs.set(database.url, dir)
  }
  return dir
}

export function testConfig(database: Config['database'], overrides: ConfigOverrides = {}): Config {
  return loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    DATA_DIR: dataDirFor(database),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    STORE_DEBOUNCE_MS: '50',
    STORE_MAX_DEBOUNCE_MS: '200',
    // Tests make many requests quickly; rate limits are tested on their own with low values.
    RATE_LIMIT_PER_MINUTE: '100000',
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    LOGIN_FAILURES_PER_EMAIL: '100000',
    SHARE_LINKS_PER_DOCUMENT_PER_HOUR: '100000',
    INVITATIONS_PER_HOUR: '100000',
    ...overrides,
  })
}

/** The production server (`startServer`) on port 0 against `database`; closed after the test. */
export async function startTestServer(database: Config['database'], overrides: ConfigOverrides = {}) {
  const config = testConfig(database, overrides)
  const server = await startServer(config)
  defer(() => server.close())
  return Object.assign(server, { wsUrl: server.url.replace(/^http/, 'ws'), config }) as RunningServer & {
    wsUrl: string
    config: Config
  }
}

export type TestServer = Awaited<ReturnType<typeof startTestServer>>
