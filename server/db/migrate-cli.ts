import { ConfigError, loadConfig } from '../config/config.ts'
import { connectDatabase } from './connect.ts'
import { migrateToLatest } from './migrate.ts'

// `npm run migrate`: the same migrations the server runs at start, for deployments that migrate first.
try {
  const config = loadConfig()
  const handle = connectDatabase(config.database)
  try {
    const applied = await migrateToLatest(handle.db)
    console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date.')
  } finally {
    await handle.close()
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error)
  process.exitCode = 1
}
