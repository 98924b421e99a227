import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'

/**
 * Whether `bytes` is exactly one Yjs update (v1), read in full. `Y.mergeUpdates` accepts garbage,
 * and `Y.applyUpdate` applies a delete set while still reading it, so a bad update could change a
 * document half-way before failing: it is read into a throwaway document first. Yjs has no reader
 * that reports where an update ends, hence the lib0 decoder here: bytes left over are not an update
 * either. Missing dependencies are fine: Yjs keeps such an update pending until they arrive.
 */
export function isYjsUpdate(bytes: Uint8Array): boolean {
  if (bytes.byteLength === 0) return false
  const scratch = new Y.Doc()
  try {
    const decoder = decoding.createDecoder(bytes)
    Y.readUpdate(decoder, scratch, null)
    return !decoding.hasContent(decoder)
  } catch {
    return false
  } finally {
    scratch.destroy()
  }
}
