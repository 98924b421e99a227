import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { CONTROL_VERSION, ControlChannel, type ControlMessage, parseControlMessage } from '../../server/redis/control-channel.ts'

const log = Fastify({ logger: false }).log

const messages: ControlMessage[] = [
  { type: 'access-changed', documentId: 'doc-1' },
  { type: 'document-renamed', documentId: 'doc-1' },
  { type: 'document-deleted', documentId: 'doc-1' },
  { type: 'session-ended', sessionId: 'fam_1', userId: 'usr_1', reason: 'signed-out' },
  { type: 'notification', userId: 'usr_1', eventId: 42 },
]

describe('control messages on the wire', () => {
  it('reads back every message type with its sender', () => {
    for (const message of messages) {
      const wire = JSON.stringify({ v: CONTROL_VERSION, origin: 'host-1-abc', ...message })
      expect(parseControlMessage(wire)).toEqual({ origin: 'host-1-abc', body: message })
    }
  })

  it('ignores other versions, unknown types, missing or malformed fields, and extra fields', () => {
    const ok = { v: 1, origin: 'a', type: 'access-changed', documentId: 'd' }
    for (const bad of [
      'not json',
      'null',
      JSON.stringify({ ...ok, v: 2 }),
      JSON.stringify({ ...ok, origin: '' }),
      JSON.stringify({ ...ok, type: 'shutdown' }),
      JSON.stringify({ ...ok, documentId: 7 }),
      JSON.stringify({ v: 1, origin: 'a', type: 'notification', userId: 'u', eventId: 1.5 }),
      JSON.stringify({ v: 1, origin: 'a', type: 'session-ended', sessionId: 's', userId: 'u', reason: 'whatever' }),
    ]) {
      expect(parseControlMessage(bad), bad).toBeUndefined()
    }
    // Only the known fields are passed on: nothing else a sender adds reaches a handler.
    expect(parseControlMessage(JSON.stringify({ ...ok, token: 'secret' }))?.body).toEqual({ type: 'access-changed', documentId: 'd' })
  })
})

describe('control channel in one process', () => {
  it('runs each handler of the type once, before publish resolves, whatever another handler does', async () => {
    const control = new ControlChannel({ log })
    const seen: string[] = []
    control.on('access-changed', ({ documentId }) => {
      seen.push(`first ${documentId}`)
    })
    control.on('access-changed', () => {
      throw new Error('broken handler')
    })
    control.on('access-changed', async ({ documentId }) => {
      await new Promise((resolve) => setTimeout(resolve, 10))
      seen.push(`slow ${documentId}`)
    })
    control.on('document-deleted', () => {
      seen.push('wrong type')
    })
    control.start()
    expect(control.subscribed).toBe(true)
    await control.publish({ type: 'access-changed', documentId: 'doc-1' })
    expect(seen).toEqual(['first doc-1', 'slow doc-1'])
    await control.stop()
  })
})
