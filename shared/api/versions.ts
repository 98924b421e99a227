import Type, { type Static } from 'typebox'
import { Timestamp } from './common.ts'
import { DocumentId } from './documents.ts'

/** Kinds of log row: an edit from a client, a restore of an earlier version, an import. */
export const VERSION_KINDS = ['update', 'restore', 'import'] as const
export type VersionKind = (typeof VERSION_KINDS)[number]

/** Longest version name, in characters after trimming. */
export const VERSION_LABEL_MAX_LENGTH = 200

/** A version's sequence number: gap-free per document from 1 (retention may merge old ones away). */
export const VersionSeq = Type.Integer({ minimum: 1, maximum: 2_147_483_647 })

export const VersionParams = Type.Object({ id: DocumentId, seq: VersionSeq }, { additionalProperties: false })
export type VersionParams = Static<typeof VersionParams>

export const VersionAuthor = Type.Object(
  {
    /** A user id, `link:<id>` for a share-link holder, or `anonymous`. */
    id: Type.String(),
    /** The user's current name; "Guest" for a share link, "Anonymous", or "Deleted user". */
    name: Type.String(),
  },
  { additionalProperties: false },
)
export type VersionAuthor = Static<typeof VersionAuthor>

export const ListVersionsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    /** `nextCursor` of the previous page: the list continues below the seq it names. */
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    /** Named versions only (restores are named, so they are listed). */
    labelled: Type.Optional(Type.Boolean({ default: false })),
    /** `session` folds rows into editing sessions (see `VERSION_SESSION_GAP_SECONDS`). */
    group: Type.Optional(Type.Enum(['session'])),
  },
  { additionalProperties: false },
)
export type ListVersionsQuery = Static<typeof ListVersionsQuery>

/**
 * One version: a stored log row, or with `?group=session` an editing session (consecutive rows less
 * than the session gap apart), which adds `fromSeq` and `startedAt`.
 */
export const VersionDto = Type.Object(
  {
    /** The version's seq (for a session: its last row). */
    seq: Type.Integer(),
    /** Sessions only: the session's first row. */
    fromSeq: Type.Optional(Type.Integer()),
    /** Sessions only: when its first row was stored. */
    startedAt: Type.Optional(Timestamp),
    /** When the row (a session's last row) was stored. */
    createdAt: Timestamp,
    /** Who wrote it, in order of appearance. */
    authors: Type.Array(VersionAuthor),
    /** Size of the stored update(s). */
    bytes: Type.Integer(),
    /** The version's name, or null. */
    label: Type.Union([Type.String(), Type.Null()]),
    kind: Type.Enum(VERSION_KINDS),
  },
  { $id: 'Version', additionalProperties: false },
)
export type VersionDto = Static<typeof VersionDto>

export const VersionList = Type.Object(
  { items: Type.Array(VersionDto), nextCursor: Type.Union([Type.String(), Type.Null()]) },
  { additionalProperties: false },
)
export type VersionList = Static<typeof VersionList>

export const LabelVersionBody = Type.Object(
  {
    /**
     * 1–200 characters after trimming (surrounding whitespace is dropped); `null` clears the name.
     * The schema leaves room for that whitespace; the route checks the trimmed length.
     */
    label: Type.Union([Type.String({ maxLength: 1_000 }), Type.Null()]),
  },
  { additionalProperties: false },
)
export type LabelVersionBody = Static<typeof LabelVersionBody>

/** A restore's `:seq`: 0 restores the empty document (as it was before the first version). */
export const RestoreVersionParams = Type.Object(
  { id: DocumentId, seq: Type.Integer({ minimum: 0, maximum: 2_147_483_647 }) },
  { additionalProperties: false },
)
export type RestoreVersionParams = Static<typeof RestoreVersionParams>

/** The new version a server-side write (a restore, an update posted over REST) was stored as. */
export const StoredVersion = Type.Object(
  { seq: Type.Integer() },
  { $id: 'StoredVersion', additionalProperties: false },
)
export type StoredVersion = Static<typeof StoredVersion>

/** Kinds of part in a version diff. */
export const DIFF_OPS = ['insert', 'delete', 'equal'] as const
export type DiffOp = (typeof DIFF_OPS)[number]

export const VersionDiffQuery = Type.Object(
  {
    /** The version to compare with (default: the one before `:seq`; 0 = the empty document). */
    from: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647 })),
    /** The root type whose text rendering is compared (default: the server's CONTENT_TEXT_ROOT). */
    root: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  },
  { additionalProperties: false },
)
export type VersionDiffQuery = Static<typeof VersionDiffQuery>

/**
 * A word-level diff of the text rendering of one root between versions `from` and `to`: the parts
 * joined in order spell both texts (`insert` parts only the new one, `delete` parts only the old one),
 * except that long `equal` parts keep only some context around a `…`.
 */
export const VersionDiff = Type.Object(
  {
    from: Type.Integer(),
    to: Type.Integer(),
    /** Who wrote the versions in (from, to], in order of appearance. */
    authors: Type.Array(VersionAuthor),
    changes: Type.Array(
      Type.Object({ op: Type.Enum(DIFF_OPS), text: Type.String() }, { additionalProperties: false }),
    ),
  },
  { $id: 'VersionDiff', additionalProperties: false },
)
export type VersionDiff = Static<typeof VersionDiff>
