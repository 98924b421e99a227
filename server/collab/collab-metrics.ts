/** Counters the collaboration layer keeps; exported as Prometheus metrics. */
export class CollabMetrics {
  /** Document updates sent by read-only (viewer) connections and dropped by the server. */
  droppedReadOnlyUpdates = 0
  /** Frames refused as undecodable. */
  invalidMessages = 0
  /** Awareness states refused: a client id owned by another connection, too many ids, too large. */
  droppedAwarenessStates = 0
}
