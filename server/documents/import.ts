import * as Y from 'yjs'
import type { ImportFormat } from '../../shared/documents.ts'
import { ErrorCodes } from '../../shared/errors.ts'
import { AppError } from '../http/errors.ts'
import { inferRootKind, type ProsemirrorNode } from './content.ts'
import { InvalidProsemirrorJsonError, parseProsemirrorDoc, prosemirrorToYXml } from './prosemirror-yjs.ts'
import { RootKindError } from './root-kind.ts'

/** What an import puts into a root: text for a Y.Text, a ProseMirror document for a Y.XmlFragment. */
export type ImportContent = { kind: 'text'; text: string } | { kind: 'xml'; doc: ProsemirrorNode }

/** Reads a request body as the content to import; a body that fits no root type is a 400. */
export async function readImportContent(format: ImportFormat, body: unknown): Promise<ImportContent> {
  if (body === undefined) throw invalid('body', 'is missing: send text/plain, text/markdown or application/json')
  if (format === 'markdown') {
    // The markdown stack (prosemirror-markdown, markdown-it) loads on first use, not at start.
    const { markdownToProsemirror } = await import('./markdown.ts')
    return { kind: 'xml', doc: markdownToProsemirror(body as string) }
  }
  if (typeof body === 'string') return { kind: 'text', text: body }
  if (format === 'text') throw invalid('body', 'must be text')
  try {
    return { kind: 'xml', doc: parseProsemirrorDoc(body) }
  } catch (error) {
    if (error instanceof InvalidProsemirrorJsonError) throw invalid(`body${error.path}`, error.message)
    throw error
  }
}

/**
 * The update that replaces everything in `root` of the live document with `content`: the old content
 * deleted and the new inserted in one step. Made on a scratch copy so the live document's roots are
 * never re-typed by a typed getter, and encoded against the live state so it holds only the change.
 * An absent or emptied root takes the import's type; a root of another type is a 409, and nothing changes.
 */
export function replaceRootUpdate(live: Y.Doc, root: string, content: ImportContent): Uint8Array {
  const current = inferRootKind(live, root)
  if (current !== undefined && current !== 'empty' && current !== content.kind) {
    const needed = content.kind === 'text' ? 'text imports need a Y.Text root' : 'ProseMirror and markdown imports need a Y.XmlFragment root'
    throw new RootKindError(root, current, needed)
  }
  const scratch = new Y.Doc()
  try {
    Y.applyUpdate(scratch, Y.encodeStateAsUpdate(live))
    scratch.transact(() => {
      if (content.kind === 'text') {
        const text = scratch.getText(root)
        text.delete(0, text.length)
        text.insert(0, content.text)
      } else {
        const fragment = scratch.getXmlFragment(root)
        fragment.delete(0, fragment.length)
        fragment.insert(0, prosemirrorToYXml(content.doc.content ?? []))
      }
    })
    return Y.encodeStateAsUpdate(scratch, Y.encodeStateVector(live))
  } finally {
    scratch.destroy()
  }
}

function invalid(path: string, message: string): AppError {
  return new AppError(400, ErrorCodes.InvalidInput, 'Invalid input', [{ path, message }])
}
