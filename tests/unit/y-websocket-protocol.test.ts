import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import { encodeAuthFrame, prefixWithDocumentName, readClientFrameHeader } from '../../server/collab/frames.ts'
import { encodePong, translateServerFrame } from '../../server/collab/y-websocket-protocol.ts'

function hocuspocusFrame(documentName: string, ...parts: (number | string | Uint8Array)[]): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, documentName)
  for (const part of parts) {
    if (typeof part === 'number') encoding.writeVarUint(encoder, part)
    else if (typeof part === 'string') encoding.writeVarString(encoder, part)
    else encoding.writeUint8Array(encoder, part)
  }
  return encoding.toUint8Array(encoder)
}

describe('y-websocket ⇄ Hocuspocus frames', () => {
  it('forwards Sync, Awareness and QueryAwareness without the document name', () => {
    const payload = new Uint8Array([1, 2, 3, 4])
    for (const type of [0, 1, 3]) {
      expect(translateServerFrame(hocuspocusFrame('doc', type, payload))).toEqual({
        action: 'send',
        frame: new Uint8Array([type, 1, 2, 3, 4]),
      })
    }
  })

  it('turns SyncReply into plain Sync', () => {
    expect(translateServerFrame(hocuspocusFrame('doc', 4, new Uint8Array([0, 9])))).toEqual({
      action: 'send',
      frame: new Uint8Array([0, 0, 9]),
    })
  })

  it('turns PermissionDenied into a y-protocols auth message and a close code', () => {
    const action = translateServerFrame(hocuspocusFrame('doc', 2, 1, 'not-found'))
    expect(action).toMatchObject({ action: 'deny', close: { code: 4404, reason: 'not-found' } })
    const decoder = decoding.createDecoder((action as { frame: Uint8Array }).frame)
    expect([decoding.readVarUint(decoder), decoding.readVarUint(decoder), decoding.readVarString(decoder)]).toEqual([
      2,
      0,
      'not-found',
    ])
    expect(translateServerFrame(hocuspocusFrame('doc', 2, 1, 'some other reason'))).toMatchObject({
      close: { code: 4403 },
    })
  })

  it('maps a document CLOSE to a socket close with the matching code', () => {
    expect(translateServerFrame(hocuspocusFrame('doc', 7, 'invalid-message'))).toEqual({
      action: 'close',
      close: { code: 4400, reason: 'invalid-message' },
    })
    expect(translateServerFrame(hocuspocusFrame('doc', 7, 'anything'))).toEqual({
      action: 'close',
      close: { code: 4205, reason: 'Reset Connection' },
    })
  })

  it('answers token requests and pings itself, and drops what y-websocket cannot read', () => {
    expect(translateServerFrame(hocuspocusFrame('doc', 2, 0))).toEqual({ action: 'resend-token' })
    expect(translateServerFrame(hocuspocusFrame('doc', 9))).toEqual({ action: 'pong' })
    expect(translateServerFrame(hocuspocusFrame('doc', 2, 2, 'read-write'))).toEqual({ action: 'drop' })
    for (const type of [5, 6, 8, 10]) expect(translateServerFrame(hocuspocusFrame('doc', type, 1))).toEqual({ action: 'drop' })
    expect(encodePong('doc')).toEqual(hocuspocusFrame('doc', 10))
  })

  it('builds client frames: auth first, then prefixed y-websocket frames', () => {
    expect(encodeAuthFrame('doc', 'tok')).toEqual(hocuspocusFrame('doc', 2, 0, 'tok'))
    expect(prefixWithDocumentName('doc', new Uint8Array([0, 0, 1, 0]))).toEqual(
      hocuspocusFrame('doc', new Uint8Array([0, 0, 1, 0])),
    )
  })

  it('reads client frame headers and refuses anything else', () => {
    expect(readClientFrameHeader(hocuspocusFrame('doc-1', 0, 0))).toEqual({ documentName: 'doc-1', type: 0, isUpdate: false })
    expect(readClientFrameHeader(hocuspocusFrame('doc-1', 0, 2))).toEqual({ documentName: 'doc-1', type: 0, isUpdate: true })
    expect(readClientFrameHeader(hocuspocusFrame('doc-1\0session', 1))).toEqual({ documentName: 'doc-1', type: 1, isUpdate: false })
    expect(readClientFrameHeader(hocuspocusFrame('bad name', 0))).toBeUndefined()
    expect(readClientFrameHeader(hocuspocusFrame('doc', 7))).toBeUndefined()
    expect(readClientFrameHeader(hocuspocusFrame('doc', 42))).toBeUndefined()
    expect(readClientFrameHeader(new Uint8Array([0xff, 0xff, 0xff]))).toBeUndefined()
    expect(readClientFrameHeader(new Uint8Array([]))).toBeUndefined()
  })
})
