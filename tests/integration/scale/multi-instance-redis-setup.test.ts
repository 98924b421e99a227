import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { startTestRedis, testRedisUrl } from '../../helpers/redis.ts'
import { defer } from '../../helpers/cleanup.ts'

function client(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 })
  redis.on('error', () => {}) // the restart test drops it on purpose
  defer(() => redis.disconnect())
  return redis
}

describe('[multi-instance] test Redis provisioning', () => {
  it('provides a reachable Redis to every test', async () => {
    const redis = client(testRedisUrl())
    expect(await redis.ping()).toBe('PONG')
  })

  it('restarts a private Redis on the same port, empty, after a SIGKILL', async () => {
    const server = await startTestRedis()
    const redis = client(server.url)
    await redis.set('kept?', 'yes')
    const before = server.pid
    await server.restart()
    expect(server.pid).not.toBe(before)
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)
    // ioredis reconnects to the same address on its own.
    expect(await redis.get('kept?')).toBeNull()
  })
})
