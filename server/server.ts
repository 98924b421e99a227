import { type App, buildApp } from './app.ts'
import type { Config } from './config/config.ts'
import { connectDatabase, type DatabaseHandle } from './db/connect.ts'
import { migrateToLatest } from './db/migrate.ts'
import type { DeliveryTiming } from './notifications/delivery.ts'
import type { NotificationStreamsOptions } from './notifications/stream.ts'
import { CleanupJob, type CleanupOptions } from './notifications/cleanup.ts'
import { RetentionJob, type RetentionOptions } from './versions/retention.ts'

export interface RunningServer extends App {
  database: DatabaseHandle
  /** `http://host:port` the server listens on. */
  url: string
  port: number
  /** The history retention job, when VERSION_RETENTION_DAYS is set. */
  retention: RetentionJob | undefined
  /** Deletes old read inbox items, delivered outbox rows and old stream events (hourly). */
  notificationCleanup: CleanupJob
  /** Graceful stop: refuse new work, close sockets, store every pending update, close the database. */
  close(): Promise<void>
}

/** Connects and migrates the database, builds the app and listens. */
export async function startServer(
  config: Config,
  options: {
    logger?: boolean | object
    /** When the retention job runs (tests shorten it); how much it keeps is configuration. */
    retention?: Pick<RetentionOptions, 'intervalMs' | 'startDelayMs'>
    /** Notification stream timing (tests shorten the heartbeat). */
    notificationStream?: Pick<NotificationStreamsOptions, 'heartbeatMs'>
    /** Outbox polling, retry backoff, digest and webhook debounce timing (tests shorten them). */
    delivery?: DeliveryTiming
    /** When the notification cleanup job runs (tests shorten it); how much it keeps is configuration. */
    notificationCleanup?: Pick<CleanupOptions, 'intervalMs' | 'startDelayMs'>
  } = {},
): Promise<RunningServer> {
  const database = connectDatabase(config.database, { poolSize: config.databasePoolSize })
  let migrated = false
  try {
    await migrateToLatest(database.db)
    migrated = true
  } catch (error) {
    await database.close()
    throw error
  }
  let app: App
  try {
    app = await buildApp(config, {
      database,
      isMigrated: () => migrated,
      logger: options.logger,
      notificationStream: options.notificationStream,
      delivery: options.delivery,
    })
    await app.http.listen({ port: config.port, host: config.host })
  } catch (error) {
    await database.close()
    throw error
  }
  const address = app.http.server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  const retention =
    config.versionRetentionDays === undefined
      ? undefined
      : new RetentionJob({
          db: database.db,
          log: app.log.child({ module: 'retention' }),
          retentionDays: config.versionRetentionDays,
          ...options.retention,
        })
  retention?.start()
  app.delivery.start()
  const notificationCleanup = new CleanupJob({
    db: database.db,
    log: app.log.child({ module: 'notification-cleanup' }),
    retentionDays: config.notificationRetentionDays,
    ...options.notificationCleanup,
  })
  notificationCleanup.start()
  let closing: Promise<void> | undefined
  return {
    ...app,
    database,
    port,
    retention,
    notificationCleanup,
    url: `http://${host}:${port}`,
    close: () => {
      closing ??= Promise.all([retention?.stop(), notificationCleanup.stop()]).then(() =>
        shutdown(app, database, config.shutdownTimeoutMs),
      )
      return closing
    },
  }
}

async function shutdown(app: App, database: DatabaseHandle, timeoutMs: number): Promise<void> {
  const { collab, log } = app
  const { hocuspocus, updateLog } = collab
  const started = Date.now()
  const timeLeft = () => Date.now() - started < timeoutMs
  // Event streams never end on their own; clients resume from their last event id elsewhere.
  app.notificationStreams.stop()
  // Clients get half the budget to finish the close handshake (each frame sent before it is applied);
  // the other half is for storing. A client that never answers is cut off then.
  await app.websockets.close(timeoutMs / 2)
  // The sockets are closed, but Hocuspocus may still be applying their last messages; its
  // disconnect path then stores each document and unloads it. Wait for that, running the
  // debounced stores now rather than at the end of their debounce, and retrying failed ones.
  let failed: string[] = []
  do {
    hocuspocus.flushPendingStores()
    ;({ failed } = await updateLog.flushAll())
    if (hocuspocus.getDocumentsCount() === 0 && failed.length === 0) break
    await new Promise((resolve) => setTimeout(resolve, failed.length > 0 ? 250 : 10))
  } while (timeLeft())
  if (failed.length > 0) log.error({ documents: failed }, 'shutdown: some updates could not be stored')
  collab.liveAccess.stop()
  collab.socketSessions.stop()
  // The other instances drop this one's presence at once instead of after its heartbeat times out.
  await collab.redis?.awareness.stop()
  await updateLog.stop()
  // The last stored rows' inbox items, before the database goes.
  await app.notifier.stop()
  // After the last stored rows (their debounced `document.updated` events are queued now).
  await app.delivery.stop()
  await app.http.close()
  await app.control.stop()
  await collab.redis?.connection.close()
  await database.close()
  log.info({ ms: Date.now() - started }, 'shutdown complete')
}
