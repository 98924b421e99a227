import type { Connection, Document } from '@hocuspocus/server'
import { type AwarenessEntry, readAwarenessFrame } from './awareness-frame.ts'
import type { CollabContext } from './context.ts'
import { HocuspocusMessage, peekType } from './frames.ts'

/** What a connection's awareness frames are handed to instead of Hocuspocus' MessageReceiver. */
export interface AwarenessHandler {
  apply(connection: Connection<CollabContext>, entries: AwarenessEntry[]): void
  /** An awareness frame that does not decode. */
  refuse(connection: Connection<CollabContext>): void
}

/**
 * Routes the awareness frames of every connection `document` gets to `handler`, synchronously as
 * each frame is handed to the connection; every other frame goes through Hocuspocus as before.
 * Called when the document is loaded, before its first connection is added, so the frames
 * Hocuspocus held during authentication (a HocuspocusProvider sends its awareness right behind
 * its token) are routed too, in the order they came.
 *
 * Hocuspocus handles a connection's frames one after another, asynchronously; an awareness frame
 * routed here may so overtake a sync frame still being handled. Presence and document are separate
 * states, so their relative order does not matter; awareness frames, which all come here, keep
 * their order among themselves (the presence rules rely on it).
 */
export function routeAwarenessFrames(document: Document, handler: AwarenessHandler): void {
  const addConnection = document.addConnection.bind(document)
  document.addConnection = (connection) => {
    const handleMessage = connection.handleMessage.bind(connection)
    connection.handleMessage = (frame: Uint8Array) => {
      if (peekType(frame) !== HocuspocusMessage.Awareness) return handleMessage(frame)
      const entries = readAwarenessFrame(frame)
      if (entries) handler.apply(connection as Connection<CollabContext>, entries)
      else handler.refuse(connection as Connection<CollabContext>)
    }
    return addConnection(connection)
  }
}
