import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import { Awareness, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness'
import * as Y from 'yjs'
import { readAwarenessFrame } from '../../server/collab/awareness-frame.ts'

function frame(type: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, 'doc')
  encoding.writeVarUint(encoder, type)
  encoding.writeVarUint8Array(encoder, payload)
  return encoding.toUint8Array(encoder)
}

describe('readAwarenessFrame', () => {
  it('lists each entry of a y-protocols update with its clock, size and whether it is a removal', () => {
    const doc = new Y.Doc()
    const awareness = new Awareness(doc)
    awareness.setLocalState({ user: { name: 'Ada' } })
    const set = readAwarenessFrame(frame(1, encodeAwarenessUpdate(awareness, [doc.clientID])))
    expect(set).toEqual([
      {
        clientId: doc.clientID,
        clock: 1,
        stateBytes: '{"user":{"name":"Ada"}}'.length,
        removed: false,
        json: new TextEncoder().encode('{"user":{"name":"Ada"}}'),
      },
    ])

    removeAwarenessStates(awareness, [doc.clientID], null)
    const removal = readAwarenessFrame(frame(1, encodeAwarenessUpdate(awareness, [doc.clientID])))
    expect(removal).toEqual([
      { clientId: doc.clientID, clock: 2, stateBytes: 4, removed: true, json: new TextEncoder().encode('null') },
    ])
    awareness.destroy()
  })

  it('returns undefined for other message types and for truncated frames', () => {
    const doc = new Y.Doc()
    const awareness = new Awareness(doc)
    awareness.setLocalState({ cursor: 1 })
    const update = encodeAwarenessUpdate(awareness, [doc.clientID])
    expect(readAwarenessFrame(frame(0, update))).toBeUndefined()
    const whole = frame(1, update)
    expect(readAwarenessFrame(whole.subarray(0, whole.length - 3))).toBeUndefined()
    expect(readAwarenessFrame(new Uint8Array())).toBeUndefined()
    awareness.destroy()
  })
})
