import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { mergeUpdatesBounded } from '../versions/merge-updates.ts'
import { AuthMessage, HocuspocusMessage, isRefusedUpdateAck, peekType } from './frames.ts'

const SYNC_STEP_2 = 1
const SYNC_UPDATE = 2
/** Bounds on one merged batch, so a flood never builds one huge merge. */
const MAX_BATCH_FRAMES = 4_096
const MAX_BATCH_BYTES = 1024 * 1024

interface ParsedFrame {
  address: string
  type: number
  subtype: number | undefined
  /** Offset of the payload after `[address][type][subtype]`. */
  rest: number
}

function parse(frame: Uint8Array): ParsedFrame | undefined {
  try {
    const decoder = decoding.createDecoder(frame)
    const address = decoding.readVarString(decoder)
    const type = decoding.readVarUint(decoder)
    const subtype =
      type === HocuspocusMessage.Sync || type === HocuspocusMessage.Auth ? decoding.readVarUint(decoder) : undefined
    return { address, type, subtype, rest: decoder.pos }
  } catch {
    return undefined
  }
}

/**
 * Merges the Yjs updates a `/collab` client sends in one burst into one message before Hocuspocus
 * sees them. Hocuspocus handles every update on its own (a Yjs transaction, a hook chain, an
 * acknowledgement frame), which made a client replaying a long editing session CPU-bound on the
 * server. Consecutive updates for one document, read in the same event-loop turn, become one
 * update; the single acknowledgement Hocuspocus then sends is repeated once per original update,
 * because HocuspocusProvider counts one acknowledgement per update it sent (`hasUnsyncedChanges`).
 */
export class UpdateCoalescer {
  readonly #forward: (frame: Uint8Array) => void
  readonly #send: (frame: Uint8Array, times: number) => void
  readonly #onRefused: (updates: number) => void
  #batch: { address: string; updates: Uint8Array[]; frames: Uint8Array[]; bytes: number } | undefined
  #scheduled = false
  /** Per document address: how many client updates each pending acknowledgement stands for, in order. */
  readonly #acks = new Map<string, number[]>()

  /**
   * @param forward hands a client frame to Hocuspocus
   * @param send writes a server frame to the client `times` times
   * @param onRefused counts updates refused because the connection is read-only
   */
  constructor(
    forward: (frame: Uint8Array) => void,
    send: (frame: Uint8Array, times: number) => void,
    onRefused: (updates: number) => void = () => undefined,
  ) {
    this.#forward = forward
    this.#send = send
    this.#onRefused = onRefused
  }

  /** A frame from the client. */
  fromClient(frame: Uint8Array): void {
    const parsed = parse(frame)
    if (parsed?.type === HocuspocusMessage.Sync && parsed.subtype === SYNC_UPDATE) {
      if (this.#batch && this.#batch.address !== parsed.address) this.flush()
      this.#batch ??= { address: parsed.address, updates: [], frames: [], bytes: 0 }
      const batch = this.#batch
      try {
        batch.updates.push(decoding.readVarUint8Array(decoding.createDecoder(frame.subarray(parsed.rest))))
      } catch {
        // Not decodable: let Hocuspocus refuse it in order, as it would without batching.
        this.flush()
        this.#pass(frame, parsed)
        return
      }
      batch.frames.push(frame)
      batch.bytes += frame.byteLength
      if (batch.frames.length >= MAX_BATCH_FRAMES || batch.bytes >= MAX_BATCH_BYTES) this.flush()
      else this.#schedule()
      return
    }
    // Anything else keeps its place after the updates that came before it.
    this.flush()
    this.#pass(frame, parsed)
  }

  /** A frame from Hocuspocus to the client. */
  fromServer(frame: Uint8Array): void {
    // Broadcasts go to every connection of a document: skip the full parse for the many frames
    // (updates, awareness) that need no bookkeeping.
    const type = peekType(frame)
    if (type !== HocuspocusMessage.SyncStatus && type !== HocuspocusMessage.Close && type !== HocuspocusMessage.Auth) {
      this.#send(frame, 1)
      return
    }
    const parsed = parse(frame)
    if (parsed?.type === HocuspocusMessage.SyncStatus) {
      const times = this.#acks.get(parsed.address)?.shift() ?? 1
      if (isRefusedUpdateAck(frame)) this.#onRefused(times)
      this.#send(frame, times)
      return
    }
    // A refusal or a closed document drops the messages still queued for it, and their acknowledgements.
    const ends =
      parsed?.type === HocuspocusMessage.Close ||
      (parsed?.type === HocuspocusMessage.Auth && parsed.subtype === AuthMessage.PermissionDenied)
    if (ends && parsed) this.#acks.delete(parsed.address)
    this.#send(frame, 1)
  }

  /** Hands any batched updates to Hocuspocus now. */
  flush(): void {
    const batch = this.#batch
    if (!batch) return
    this.#batch = undefined
    if (batch.frames.length === 1) {
      this.#forwardCounted(batch.address, batch.frames[0]!, 1)
      return
    }
    let merged: Uint8Array
    try {
      merged = mergeUpdatesBounded(batch.updates)
    } catch {
      // A malformed update: send them one by one, so the refusal names the bad one and nothing merges.
      for (const frame of batch.frames) this.#forwardCounted(batch.address, frame, 1)
      return
    }
    const encoder = encoding.createEncoder()
    encoding.writeVarString(encoder, batch.address)
    encoding.writeVarUint(encoder, HocuspocusMessage.Sync)
    encoding.writeVarUint(encoder, SYNC_UPDATE)
    encoding.writeVarUint8Array(encoder, merged)
    this.#forwardCounted(batch.address, encoding.toUint8Array(encoder), batch.frames.length)
  }

  #pass(frame: Uint8Array, parsed: ParsedFrame | undefined): void {
    // A sync step 2 is acknowledged too, once.
    if (parsed?.type === HocuspocusMessage.Sync && parsed.subtype === SYNC_STEP_2) {
      this.#forwardCounted(parsed.address, frame, 1)
    } else {
      this.#forward(frame)
    }
  }

  #forwardCounted(address: string, frame: Uint8Array, updates: number): void {
    const queue = this.#acks.get(address)
    if (queue) queue.push(updates)
    else this.#acks.set(address, [updates])
    this.#forward(frame)
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    // setImmediate runs after the current I/O phase: every frame read from the socket in this
    // turn is in the batch by then.
    setImmediate(() => {
      this.#scheduled = false
      this.flush()
    })
  }
}
