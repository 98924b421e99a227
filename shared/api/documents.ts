import Type, { type Static } from 'typebox'
import { CONTENT_FORMATS, DOCUMENT_ID_PATTERN, IMPORT_FORMATS } from '../documents.ts'
import { ROLES } from '../roles.ts'
import { Timestamp } from './common.ts'

export const DocumentId = Type.String({ pattern: DOCUMENT_ID_PATTERN, minLength: 1, maxLength: 128 })

export const DocumentParams = Type.Object({ id: DocumentId }, { additionalProperties: false })
export type DocumentParams = Static<typeof DocumentParams>

export const CreateDocumentBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 255 }),
    /** Optional client-chosen id; generated when absent. */
    id: Type.Optional(DocumentId),
  },
  { additionalProperties: false },
)
export type CreateDocumentBody = Static<typeof CreateDocumentBody>

export const DocumentDto = Type.Object(
  {
    id: Type.String(),
    title: Type.String(),
    ownerId: Type.Union([Type.String(), Type.Null()]),
    /** The caller's role on this document. */
    role: Type.Enum(ROLES),
    /** Seq of the newest stored version (0 = nothing stored yet). */
    lastSeq: Type.Integer(),
    createdAt: Timestamp,
    /** Last activity: an edit stored, or a rename. */
    updatedAt: Timestamp,
  },
  { $id: 'Document', additionalProperties: false },
)
export type DocumentDto = Static<typeof DocumentDto>

export const RenameDocumentBody = Type.Object(
  { title: Type.String({ minLength: 1, maxLength: 255 }) },
  { additionalProperties: false },
)
export type RenameDocumentBody = Static<typeof RenameDocumentBody>

export const ListDocumentsQuery = Type.Object(
  {
    /** Searches titles (case-insensitive substring). */
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  },
  { additionalProperties: false },
)
export type ListDocumentsQuery = Static<typeof ListDocumentsQuery>

export const DocumentList = Type.Object(
  { items: Type.Array(DocumentDto), nextCursor: Type.Union([Type.String(), Type.Null()]) },
  { additionalProperties: false },
)
export type DocumentList = Static<typeof DocumentList>

export const ContentQuery = Type.Object(
  {
    format: Type.Optional(Type.Enum(CONTENT_FORMATS, { default: 'json' })),
    /** For `format=text` and `format=markdown`: the root type to read (default: the server's CONTENT_TEXT_ROOT). */
    root: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  },
  { additionalProperties: false },
)
export type ContentQuery = Static<typeof ContentQuery>

export const ImportContentQuery = Type.Object(
  {
    /** How to read the body; by default from its content type (`text/plain`, `application/json`, `text/markdown`). */
    format: Type.Optional(Type.Enum(IMPORT_FORMATS)),
    /** The root type to replace (default: the server's CONTENT_TEXT_ROOT). */
    root: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  },
  { additionalProperties: false },
)
export type ImportContentQuery = Static<typeof ImportContentQuery>

/**
 * An `application/json` import body: a string for a Y.Text root, or a ProseMirror document for a
 * Y.XmlFragment root (its nodes are checked in depth by the route).
 *
 * @example { "type": "doc", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "Hi" }] }] }
 */
export const ImportJsonBody = Type.Union([
  Type.String(),
  Type.Object(
    {
      type: Type.Literal('doc'),
      attrs: Type.Optional(Type.Object({})),
      content: Type.Optional(Type.Array(Type.Object({ type: Type.String() }))),
    },
    { additionalProperties: false },
  ),
])
export type ImportJsonBody = Static<typeof ImportJsonBody>
