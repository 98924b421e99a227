import { ConfigError, loadConfig } from './config/config.ts'
import { routeConsoleToLogger } from './http/console-logger.ts'
import { startServer } from './server.ts'

let config: ReturnType<typeof loadConfig>
try {
  config = loadConfig()
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error)
  process.exit(1)
}

try {
  const server = await startServer(config)
  routeConsoleToLogger(server.log)
  server.log.info(`collaboration server listening on ${server.url} (database: ${config.database.kind})`)
  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      server.log.warn(`${signal} again: exiting immediately`)
      process.exit(1)
    }
    stopping = true
    server.log.info(`${signal}: shutting down`)
    server.close().then(
      () => process.exit(0),
      (error) => {
        server.log.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
} catch (error) {
  console.error(`Could not start: ${(error as Error).message}`)
  process.exit(1)
}
