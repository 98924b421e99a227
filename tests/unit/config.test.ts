import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../server/config/config.ts'

describe('config', () => {
  it('has working defaults: SQLite in ./data, port 1234', () => {
    const config = loadConfig({})
    expect(config.port).toBe(1234)
    expect(config.host).toBe('0.0.0.0')
    expect(config.database).toEqual({
      kind: 'sqlite',
      file: './data/collab.db',
      url: 'sqlite:./data/collab.db',
    })
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('parses and converts every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'mysql://u:p@db:3306/collab',
      MAX_MESSAGE_BYTES: '2048',
      LOG_LEVEL: 'debug',
      STORE_DEBOUNCE_MS: '100',
      STORE_MAX_DEBOUNCE_MS: '1000',
    })
    expect(config).toMatchObject({
      port: 8080,
      database: { kind: 'mysql', url: 'mysql://u:p@db:3306/collab' },
      maxMessageBytes: 2048,
      logLevel: 'debug',
      storeDebounceMs: 100,
      storeMaxDebounceMs: 1000,
    })
  })

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '  ' }).port).toBe(1234)
  })

  it('names every bad variable in one error', () => {
    let error: unknown
    try {
      loadConfig({ PORT: 'abc', DATABASE_URL: 'postgres://x/y', LOG_LEVEL: 'loud', MAX_MESSAGE_BYTES: '-1' })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    const { problems, message } = error as ConfigError
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'PORT',
      'DATABASE_URL',
      'LOG_LEVEL',
      'MAX_MESSAGE_BYTES',
    ])
    expect(message).toContain(
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
    )
    expect(message).toContain('PORT: must be an integer from 0 to 65535 (got "abc")')
  })

  it.each([
    ['sqlite:', 'needs a file path'],
    ['mysql://', 'needs a host'],
    ['mysql://host-only', 'needs a database name'],
    ['mysql:///db', 'needs a host'],
    ['mysql://[bad/db', 'not a valid URL'],
  ])('refuses DATABASE_URL=%s', (url, why) => {
    expect(() => loadConfig({ DATABASE_URL: url })).toThrow(why)
  })

  it('refuses a max debounce shorter than the debounce', () => {
    expect(() => loadConfig({ STORE_DEBOUNCE_MS: '5000', STORE_MAX_DEBOUNCE_MS: '1000' })).toThrow(
      'STORE_MAX_DEBOUNCE_MS',
    )
  })

  it('keeps every history row unless VERSION_RETENTION_DAYS is a whole number of days, at least 1', () => {
    expect(loadConfig({}).versionRetentionDays).toBeUndefined()
    expect(loadConfig({ VERSION_RETENTION_DAYS: '' }).versionRetentionDays).toBeUndefined()
    expect(loadConfig({ VERSION_RETENTION_DAYS: '30' }).versionRetentionDays).toBe(30)
    for (const bad of ['0', '-1', '1.5', 'forever', '30d']) {
      expect(() => loadConfig({ VERSION_RETENTION_DAYS: bad })).toThrow(
        `VERSION_RETENTION_DAYS: must be an integer from 1 to 36500 (got "${bad}")`,
      )
    }
  })

  it('reads TRUST_PROXY as a switch, a hop count or a list of proxies', () => {
    expect(loadConfig({}).trustProxy).toBe(false)
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true)
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2)
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8,127.0.0.1' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1'])
    expect(() => loadConfig({ TRUST_PROXY: 'yes please' })).toThrow('TRUST_PROXY')
  })
})
