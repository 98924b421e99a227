import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { UpdateCoalescer } from '../../server/collab/update-coalescer.ts'

function frame(address: string, ...parts: (number | Uint8Array)[]): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, address)
  for (const part of parts) {
    if (typeof part === 'number') encoding.writeVarUint(encoder, part)
    else encoding.writeVarUint8Array(encoder, part)
  }
  return encoding.toUint8Array(encoder)
}

const updateFrame = (address: string, update: Uint8Array) => frame(address, 0, 2, update)
const ack = (address: string, applied: boolean) => {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, address)
  encoding.writeVarUint(encoder, 8)
  encoding.writeVarInt(encoder, applied ? 1 : 0)
  return encoding.toUint8Array(encoder)
}

function typing(count: number): Uint8Array[] {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  for (let i = 0; i < count; i++) doc.getText('default').insert(i, String.fromCharCode(97 + (i % 26)))
  return updates
}

function setup() {
  const forwarded: Uint8Array[] = []
  const sent: Uint8Array[] = []
  const coalescer = new UpdateCoalescer(
    (f) => forwarded.push(f),
    (f, times) => {
      for (let i = 0; i < times; i++) sent.push(f)
    },
  )
  return { coalescer, forwarded, sent }
}

function textOfUpdateFrames(frames: Uint8Array[]): string {
  const doc = new Y.Doc()
  for (const f of frames) {
    const decoder = decoding.createDecoder(f)
    decoding.readVarString(decoder)
    expect([decoding.readVarUint(decoder), decoding.readVarUint(decoder)]).toEqual([0, 2])
    Y.applyUpdate(doc, decoding.readVarUint8Array(decoder))
  }
  return doc.getText('default').toString()
}

describe('update coalescer', () => {
  it('merges a burst of updates into one message and repeats its acknowledgement per update', () => {
    const { coalescer, forwarded, sent } = setup()
    const updates = typing(500)
    for (const u of updates) coalescer.fromClient(updateFrame('doc', u))
    expect(forwarded).toHaveLength(0)
    coalescer.flush()
    expect(forwarded).toHaveLength(1)
    expect(textOfUpdateFrames(forwarded)).toBe(textOfUpdateFrames(updates.map((u) => updateFrame('doc', u))))

    coalescer.fromServer(ack('doc', true))
    expect(sent).toHaveLength(500)
    // A read-only refusal is repeated too, so the client's count stays honest.
    for (const u of typing(3)) coalescer.fromClient(updateFrame('doc', u))
    coalescer.flush()
    coalescer.fromServer(ack('doc', false))
    expect(sent.slice(500)).toEqual([ack('doc', false), ack('doc', false), ack('doc', false)])
  })

  it('keeps every other message in its place after the updates before it', () => {
    const { coalescer, forwarded } = setup()
    const [a, b, c] = typing(3)
    const awareness = frame('doc', 1, new Uint8Array([0]))
    coalescer.fromClient(updateFrame('doc', a!))
    coalescer.fromClient(updateFrame('doc', b!))
    coalescer.fromClient(awareness)
    coalescer.fromClient(updateFrame('other', c!))
    coalescer.flush()
    expect(forwarded).toHaveLength(3)
    expect(forwarded[1]).toEqual(awareness)
    expect(textOfUpdateFrames([forwarded[0]!])).toBe('ab')
  })

  it('acknowledges per document in order, step 2 included, and forgets a refused document', () => {
    const { coalescer, sent } = setup()
    const [a, b, c] = typing(3)
    coalescer.fromClient(updateFrame('doc', a!))
    coalescer.fromClient(updateFrame('doc', b!))
    coalescer.fromClient(frame('doc', 0, 1, c!))
    coalescer.fromServer(ack('doc', true))
    coalescer.fromServer(ack('doc', true))
    expect(sent).toHaveLength(3)
    coalescer.fromClient(updateFrame('doc', c!))
    coalescer.fromClient(updateFrame('doc', c!))
    coalescer.flush()
    coalescer.fromServer(frame('doc', 7))
    coalescer.fromServer(ack('doc', true))
    // The batch's acknowledgements were dropped with the document: one frame, not two.
    expect(sent).toHaveLength(5)
  })

  it('passes undecodable updates through one by one, for Hocuspocus to refuse', () => {
    const { coalescer, forwarded } = setup()
    const [a] = typing(1)
    const broken = new Uint8Array([0xff, 0xff, 0xff])
    coalescer.fromClient(updateFrame('doc', a!))
    coalescer.fromClient(updateFrame('doc', broken))
    coalescer.flush()
    expect(forwarded).toEqual([updateFrame('doc', a!), updateFrame('doc', broken)])
  })
})
