/**
 * Document ids: 1–128 characters of letters, digits and `._:~-`, starting with a letter or digit.
 * Safe in URLs (y-websocket puts the id in the path unencoded) and in every database collation.
 */
export const DOCUMENT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:~-]{0,127}$'

const documentIdRegExp = new RegExp(DOCUMENT_ID_PATTERN)

export function isValidDocumentId(id: string): boolean {
  return documentIdRegExp.test(id)
}

/**
 * Formats `GET /api/v1/documents/:id/content` (and a version's content) can return. `markdown` renders
 * a ProseMirror-shaped (Tiptap StarterKit) XmlFragment root, or a text root as it is.
 */
export const CONTENT_FORMATS = ['json', 'text', 'markdown', 'yjs'] as const
export type ContentFormat = (typeof CONTENT_FORMATS)[number]

/** Formats `PUT /api/v1/documents/:id/content` replaces a root from. */
export const IMPORT_FORMATS = ['text', 'json', 'markdown'] as const
export type ImportFormat = (typeof IMPORT_FORMATS)[number]
