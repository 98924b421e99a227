/** Transports a socket can speak; the `protocol` label of `collab_connections`. */
export type CollabProtocol = 'collab' | 'y-websocket'

/**
 * Counters the collaboration layer keeps, exported as Prometheus metrics (http/metrics.ts reads
 * them at scrape time). Plain numbers: the frame path only adds to a field, it never allocates.
 */
export class CollabMetrics {
  /** Document updates sent by read-only (viewer) connections and dropped by the server. */
  droppedReadOnlyUpdates = 0
  /** Frames refused as undecodable. */
  invalidMessages = 0
  /** Awareness states refused: a client id owned by another connection, too many ids, too large. */
  droppedAwarenessStates = 0
  /** Sync/update frames clients sent, counted per frame as it arrives (before any merging). */
  updatesReceived = 0
  /** Open sockets per protocol. */
  readonly connections: Record<CollabProtocol, number> = { collab: 0, 'y-websocket': 0 }
}
