import * as decoding from 'lib0/decoding'
import { HocuspocusMessage } from './frames.ts'

/** One entry of a y-protocols awareness update, as the client sent it. */
export interface AwarenessEntry {
  clientId: number
  clock: number
  /** Size of the state's JSON on the wire. */
  stateBytes: number
  /** The state is `null`: the client removes this id's presence. */
  removed: boolean
  /** The state's JSON as sent (a view into the frame, not a copy). */
  json: Uint8Array
}

const utf8 = new TextDecoder()

// `JSON.stringify(null)`, give or take the whitespace JSON allows around it.
const LONGEST_NULL = 16

/**
 * Reads the awareness update carried by a client frame
 * `[varString address][varUint 1 Awareness][varUint8Array update]`, where the update is
 * `varUint count` then, per entry, `varUint clientId, varUint clock, varString stateJSON`.
 * Returns undefined for any other frame and for a malformed one. States are not parsed: only
 * their size and whether they are `null` matter here.
 */
export function readAwarenessFrame(frame: Uint8Array): AwarenessEntry[] | undefined {
  try {
    const decoder = decoding.createDecoder(frame)
    decoding.readVarString(decoder)
    if (decoding.readVarUint(decoder) !== HocuspocusMessage.Awareness) return undefined
    const update = decoding.createDecoder(decoding.readVarUint8Array(decoder))
    const count = decoding.readVarUint(update)
    const entries: AwarenessEntry[] = []
    for (let i = 0; i < count; i++) {
      const clientId = decoding.readVarUint(update)
      const clock = decoding.readVarUint(update)
      const state = decoding.readVarUint8Array(update)
      entries.push({ clientId, clock, stateBytes: state.byteLength, removed: isNullJson(state), json: state })
    }
    return entries
  } catch {
    return undefined
  }
}

function isNullJson(bytes: Uint8Array): boolean {
  return bytes.byteLength <= LONGEST_NULL && utf8.decode(bytes).trim() === 'null'
}

/** The state an entry carries, or undefined when it is not JSON. */
export function parseAwarenessState(entry: AwarenessEntry): unknown {
  try {
    return JSON.parse(utf8.decode(entry.json))
  } catch {
    return undefined
  }
}
