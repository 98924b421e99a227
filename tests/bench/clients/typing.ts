import { createHash } from 'node:crypto'
import * as Y from 'yjs'
import { connect, random, untilAcknowledged } from '../lib/client.ts'
import { childArgs, emit, progress, serve, sleep } from '../lib/ipc.ts'

/**
 * Load client for scenario 2: seeds a large document, then types steadily like a person: words of
 * 3–8 letters plus a space, one character per keystroke, the cursor jumping to a random position
 * after each word.
 */
export interface TypingArgs {
  wsUrl: string
  documentName: string
  seedBytes: number
  seconds: number
  keystrokesPerSecond: number
  randomSeed: number
}

export interface SeedResult {
  textLength: number
  /** Sum of the seeding transactions' update sizes. */
  updateBytes: number
  /** `Y.encodeStateAsUpdate` of the seeded document. */
  stateBytes: number
}

export interface TypingResult {
  keystrokes: number
  /** Sum of the sizes of the Yjs updates the typing produced (one per keystroke). */
  editBytes: number
  seconds: number
  stateBytes: number
  textSha256: string
}

const SEED_CHUNK = 64 * 1024
const TYPING = Symbol('typing')
const args = childArgs<TypingArgs>()
const rand = random(args.randomSeed)
const client = connect(args.wsUrl, args.documentName)
const text = client.doc.getText('default')
await client.synced

serve(async (command) => {
  if (command === 'seed') return seed()
  if (command === 'type') return type()
  if (command === 'close') {
    client.destroy()
    return null
  }
  throw new Error(`unknown command ${command}`)
})
emit('ready')

function letter(): string {
  return String.fromCharCode(97 + Math.floor(rand() * 26))
}

function prose(length: number): string {
  const parts: string[] = []
  let size = 0
  while (size < length) {
    const word = Array.from({ length: 2 + Math.floor(rand() * 9) }, letter).join('')
    const separator = rand() < 0.015 ? '\n' : ' '
    parts.push(word, separator)
    size += word.length + 1
  }
  return parts.join('').slice(0, length)
}

async function seed(): Promise<SeedResult> {
  let updateBytes = 0
  const count = (update: Uint8Array) => {
    updateBytes += update.byteLength
  }
  client.doc.on('update', count)
  for (let done = 0; done < args.seedBytes; done += SEED_CHUNK) {
    const chunk = prose(Math.min(SEED_CHUNK, args.seedBytes - done))
    client.doc.transact(() => text.insert(text.length, chunk))
    await sleep(5)
  }
  client.doc.off('update', count)
  await untilAcknowledged(client.provider)
  return { textLength: text.length, updateBytes, stateBytes: Y.encodeStateAsUpdate(client.doc).byteLength }
}

async function type(): Promise<TypingResult> {
  let editBytes = 0
  client.doc.on('update', (update: Uint8Array, origin: unknown) => {
    if (origin === TYPING) editBytes += update.byteLength
  })
  const interval = 1000 / args.keystrokesPerSecond
  const total = Math.round(args.seconds * args.keystrokesPerSecond)
  const started = performance.now()
  let lastProgress = started
  let cursor = Math.floor(rand() * text.length)
  let wordLeft = 0
  for (let i = 0; i < total; i++) {
    const wait = started + i * interval - performance.now()
    if (wait > 0) await sleep(wait)
    if (wordLeft === 0) {
      // Next word: jump somewhere else, type 3–8 letters, then a space.
      cursor = Math.floor(rand() * (text.length + 1))
      wordLeft = 4 + Math.floor(rand() * 6)
    }
    const char = wordLeft === 1 ? ' ' : letter()
    wordLeft--
    client.doc.transact(() => text.insert(cursor, char), TYPING)
    cursor++
    if (performance.now() - lastProgress > 30_000) {
      lastProgress = performance.now()
      progress(`typed ${i + 1}/${total} keystrokes, ${editBytes} edit bytes`)
    }
  }
  const seconds = (performance.now() - started) / 1000
  await untilAcknowledged(client.provider)
  return {
    keystrokes: total,
    editBytes,
    seconds,
    stateBytes: Y.encodeStateAsUpdate(client.doc).byteLength,
    textSha256: createHash('sha256').update(text.toString()).digest('hex'),
  }
}
