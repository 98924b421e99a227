import type { beforeHandleAwarenessPayload } from '@hocuspocus/server'
import type { FastifyBaseLogger } from 'fastify'
import { describe, expect, it } from 'vitest'
import { CollabMetrics } from '../../server/collab/collab-metrics.ts'
import type { CollabContext } from '../../server/collab/context.ts'
import { PresenceExtension } from '../../server/collab/presence.extension.ts'

/**
 * Client awareness is applied by PresenceExtension.applyFrame (routed there by
 * awareness-routing.ts). Should a Hocuspocus release stop that routing, client awareness would
 * reach Hocuspocus' own path unchecked: it is refused there instead of shown unfiltered.
 */
describe('presence: awareness that bypassed the routing', () => {
  const warnings: unknown[] = []
  const log = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as FastifyBaseLogger
  const presence = new PresenceExtension({ maxClientIds: 4, maxStateBytes: 16_384, metrics: new CollabMetrics(), log })
  const payload = (transactionOrigin: unknown) =>
    ({
      states: new Map<number, Record<string, unknown>>([[7, { user: { name: 'Ada (owner)' } }]]),
      transactionOrigin,
      socketId: 's',
      documentName: 'd',
    }) as unknown as beforeHandleAwarenessPayload<CollabContext>

  it('is refused whole when it comes from a client connection', async () => {
    const fromClient = payload({ source: 'connection', connection: {} })
    await presence.beforeHandleAwareness(fromClient)
    expect(fromClient.states.size).toBe(0)
    expect(warnings).toHaveLength(1)
  })

  it('passes when the server itself relays it (another instance, local)', async () => {
    for (const source of ['redis', 'local']) {
      const relayed = payload({ source })
      await presence.beforeHandleAwareness(relayed)
      expect(relayed.states.size).toBe(1)
    }
    expect(warnings).toHaveLength(1)
  })
})
