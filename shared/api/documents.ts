import Type, { type Static } from 'typebox'
import { CONTENT_FORMATS, DOCUMENT_ID_PATTERN } from '../documents.ts'
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
    /** Seq of the newest stored version (0 = nothing stored yet). */
    lastSeq: Type.Integer(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Document', additionalProperties: false },
)
export type DocumentDto = Static<typeof DocumentDto>

export const ContentQuery = Type.Object(
  {
    format: Type.Optional(Type.Enum(CONTENT_FORMATS, { default: 'json' })),
    /** For `format=text`: the root type to read (default: the server's CONTENT_TEXT_ROOT). */
    root: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  },
  { additionalProperties: false },
)
export type ContentQuery = Static<typeof ContentQuery>
