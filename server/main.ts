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

/** A second stop signal within this long of the first is a copy of it, not a demand to hurry. */
const REPEATED_SIGNAL_MS = 1_000

try {
  const server = await startServer(config)
  routeConsoleToLogger(server.log)
  server.log.info(`collaboration server listening on ${server.url} (database: ${config.database.kind})`)
  let stoppingSince: number | undefined
  const stop = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      // Under `npm start`, a signal sent to the whole process group (Ctrl-C in a terminal, systemd
      // stopping a service) arrives twice: directly, and forwarded by npm a moment later. Only a
      // signal sent on purpose later means "stop now, unflushed".
      if (Date.now() - stoppingSince < REPEATED_SIGNAL_MS) {
        server.log.info(`${signal} again at once: taken as the same request`)
        return
      }
      server.log.warn(`${signal} again: exiting immediately`)
      process.exit(1)
    }
    stoppingSince = Date.now()
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
