import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { isValidDocumentId } from '../../shared/documents.ts'

/** Hocuspocus message types (`@hocuspocus/server` MessageType), as erasable constants. */
export const HocuspocusMessage = {
  Sync: 0,
  Awareness: 1,
  Auth: 2,
  QueryAwareness: 3,
  SyncReply: 4,
  Stateless: 5,
  BroadcastStateless: 6,
  Close: 7,
  SyncStatus: 8,
  Ping: 9,
  Pong: 10,
} as const

/** y-protocols' sync sub-message carrying a document update (after step 1 and step 2). */
export const SYNC_UPDATE = 2

/** Hocuspocus Auth sub-messages. Client → server: Token. Server → client: the other three. */
export const AuthMessage = { Token: 0, PermissionDenied: 1, Authenticated: 2 } as const

/** Message types a client may send on `/collab`; anything else is not the Hocuspocus protocol. */
const CLIENT_TYPES = new Set<number>([0, 1, 2, 3, 4, 5, 9, 10])

export interface FrameHeader {
  /** Document name (without the optional `\0sessionId` suffix). */
  documentName: string
  type: number
  /** A Sync/update frame: a document change (not a sync step, awareness or auth). */
  isUpdate: boolean
}

/**
 * Reads `[varString address][varUint type]` from a client frame, or returns undefined when the frame
 * is not a well-formed Hocuspocus frame for a valid document id. Checked before Hocuspocus sees the
 * frame, because Hocuspocus queues any unknown frame until its auth timeout instead of refusing it.
 */
export function readClientFrameHeader(frame: Uint8Array): FrameHeader | undefined {
  try {
    const decoder = decoding.createDecoder(frame)
    const address = decoding.readVarString(decoder)
    const type = decoding.readVarUint(decoder)
    const separator = address.indexOf('\0')
    const documentName = separator === -1 ? address : address.slice(0, separator)
    if (!isValidDocumentId(documentName) || !CLIENT_TYPES.has(type)) return undefined
    // The sync sub-type is one byte (a varUint below 128); peeked, not decoded, as it is only counted.
    const isUpdate = type === HocuspocusMessage.Sync && frame[decoder.pos] === SYNC_UPDATE
    return { documentName, type, isUpdate }
  } catch {
    return undefined
  }
}

/** The message type after the address, without decoding the address. */
export function peekType(frame: Uint8Array): number | undefined {
  try {
    const decoder = decoding.createDecoder(frame)
    const addressLength = decoding.readVarUint(decoder)
    decoder.pos += addressLength
    return decoding.readVarUint(decoder)
  } catch {
    return undefined
  }
}

/**
 * True for `[address][8 SyncStatus][0]`: Hocuspocus refusing a document update, which it does only
 * for read-only (viewer) connections.
 */
export function isRefusedUpdateAck(frame: Uint8Array): boolean {
  try {
    const decoder = decoding.createDecoder(frame)
    decoding.readVarString(decoder)
    return decoding.readVarUint(decoder) === HocuspocusMessage.SyncStatus && decoding.readVarInt(decoder) === 0
  } catch {
    return false
  }
}

/** `[varString documentName][2 Auth][0 Token][varString token]`: what a HocuspocusProvider sends first. */
export function encodeAuthFrame(documentName: string, token: string): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, documentName)
  encoding.writeVarUint(encoder, HocuspocusMessage.Auth)
  encoding.writeVarUint(encoder, AuthMessage.Token)
  encoding.writeVarString(encoder, token)
  return encoding.toUint8Array(encoder)
}

/** Prefixes a y-websocket frame with the document name, making it a Hocuspocus frame. */
export function prefixWithDocumentName(documentName: string, frame: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, documentName)
  encoding.writeUint8Array(encoder, frame)
  return encoding.toUint8Array(encoder)
}

/** True for `[address][2 Auth][2 Authenticated][scope]`: Hocuspocus accepting a document's authentication. */
export function isAuthenticatedFrame(frame: Uint8Array): boolean {
  try {
    const decoder = decoding.createDecoder(frame)
    decoding.readVarString(decoder)
    return (
      decoding.readVarUint(decoder) === HocuspocusMessage.Auth && decoding.readVarUint(decoder) === AuthMessage.Authenticated
    )
  } catch {
    return false
  }
}
