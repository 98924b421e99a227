import { ErrorCodes } from '../../shared/errors.ts'
import { AppError } from '../http/errors.ts'
import type { RootKind } from './content.ts'

const TYPE_NAMES: Record<RootKind, string> = {
  text: 'a Y.Text',
  xml: 'a Y.XmlFragment',
  map: 'a Y.Map',
  array: 'a Y.Array',
  empty: 'nothing',
}

/**
 * A root holds another shared type than the operation needs (a text import into a Tiptap fragment,
 * markdown of a Y.Map). Yjs cannot change a root's type, so this is a conflict with the document.
 */
export class RootKindError extends AppError {
  constructor(root: string, actual: RootKind, needed: string) {
    super(409, ErrorCodes.Conflict, `Root "${root}" holds ${TYPE_NAMES[actual]}; ${needed}`)
  }
}
