import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { type CloseEvent, CloseEvents, closeEventForReason } from '../../shared/close-codes.ts'
import { AuthMessage, HocuspocusMessage } from './frames.ts'

/** y-protocols/auth: the only auth message a y-websocket client understands. */
const Y_AUTH_PERMISSION_DENIED = 0

/** What to do with one Hocuspocus server frame on a y-websocket socket. */
export type ServerFrameAction =
  | { action: 'send'; frame: Uint8Array }
  | { action: 'deny'; frame: Uint8Array; close: CloseEvent }
  | { action: 'close'; close: CloseEvent }
  | { action: 'resend-token' }
  | { action: 'pong' }
  | { action: 'drop' }

/**
 * Translates a Hocuspocus server frame (`[docName][type][payload]`) into what a plain y-websocket
 * client understands (`[type][payload]`), or into an action on the socket.
 */
export function translateServerFrame(frame: Uint8Array): ServerFrameAction {
  const decoder = decoding.createDecoder(frame)
  decoding.readVarString(decoder)
  const type = decoding.readVarUint(decoder)
  const rest = frame.subarray(decoder.pos)
  switch (type) {
    case HocuspocusMessage.Sync:
    case HocuspocusMessage.Awareness:
    case HocuspocusMessage.QueryAwareness:
      return { action: 'send', frame: withType(type, rest) }
    // "Sync, but don't answer with another step 1": y-websocket has only plain Sync.
    case HocuspocusMessage.SyncReply:
      return { action: 'send', frame: withType(HocuspocusMessage.Sync, rest) }
    case HocuspocusMessage.Auth:
      return translateAuth(decoder)
    case HocuspocusMessage.Close: {
      const reason = decoding.hasContent(decoder) ? decoding.readVarString(decoder) : ''
      return { action: 'close', close: closeEventForReason(reason, CloseEvents.ResetConnection) }
    }
    case HocuspocusMessage.Ping:
      return { action: 'pong' }
    default:
      // SyncStatus acks, stateless messages and pongs have no y-websocket equivalent.
      return { action: 'drop' }
  }
}

function translateAuth(decoder: decoding.Decoder): ServerFrameAction {
  const subtype = decoding.readVarUint(decoder)
  if (subtype === AuthMessage.PermissionDenied) {
    const reason = decoding.hasContent(decoder) ? decoding.readVarString(decoder) : 'permission-denied'
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, HocuspocusMessage.Auth)
    encoding.writeVarUint(encoder, Y_AUTH_PERMISSION_DENIED)
    encoding.writeVarString(encoder, reason)
    return { action: 'deny', frame: encoding.toUint8Array(encoder), close: closeEventForReason(reason) }
  }
  // The server asks for the token again (token sync): answer with the one from the URL.
  if (subtype === AuthMessage.Token) return { action: 'resend-token' }
  return { action: 'drop' }
}

function withType(type: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, type)
  encoding.writeUint8Array(encoder, payload)
  return encoding.toUint8Array(encoder)
}

/** `[varString docName][10 Pong]`. */
export function encodePong(documentName: string): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, documentName)
  encoding.writeVarUint(encoder, HocuspocusMessage.Pong)
  return encoding.toUint8Array(encoder)
}
