import { Server } from '@hocuspocus/server'
import { noStorage, runTarget } from './common.ts'

/** Target B: stock Hocuspocus v4, no persistence, default options (flushDelay 0, 1 MiB merges). */
await runTarget(async () => {
  const server = new Server({ port: 0, address: '127.0.0.1', quiet: true, stopOnSignals: false })
  await server.listen()
  return {
    port: server.address.port,
    path: '/',
    storage: noStorage,
    async flush() {
      server.hocuspocus.flushPendingStores()
    },
    async close() {
      await server.destroy()
      return {}
    },
  }
})
