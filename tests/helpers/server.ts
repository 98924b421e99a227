import { type Config, loadConfig } from '../../server/config/config.ts'
import { type RunningServer, startServer } from '../../server/server.ts'
import { defer } from './cleanup.ts'

/** Env-style overrides, validated exactly as production validates them. */
export type ConfigOverrides = Record<string, string>

export function testConfig(database: Config['database'], overrides: ConfigOverrides = {}): Config {
  return loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    STORE_DEBOUNCE_MS: '50',
    STORE_MAX_DEBOUNCE_MS: '200',
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
