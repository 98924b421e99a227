import Type, { type Static } from 'typebox'
import { ErrorCodes } from '../errors.ts'

export const ErrorBody = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.Enum(Object.values(ErrorCodes)),
    error: Type.String(),
    message: Type.String(),
    details: Type.Optional(
      Type.Array(
        Type.Object({ path: Type.String(), message: Type.String() }, { additionalProperties: false }),
      ),
    ),
  },
  { $id: 'ErrorBody', additionalProperties: false },
)
export type ErrorBody = Static<typeof ErrorBody>

/** ISO 8601 timestamp. */
export const Timestamp = Type.String({ format: 'date-time' })
