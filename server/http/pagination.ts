import { ErrorCodes } from '../../shared/errors.ts'
import { AppError } from './errors.ts'

/** Opaque cursors: base64url JSON of the sort key of the last item returned. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

export function decodeCursor<T extends readonly (string | number)[]>(cursor: string, shape: readonly ('string' | 'number')[]): T {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown
    if (Array.isArray(key) && key.length === shape.length && key.every((v, i) => typeof v === shape[i])) return key as unknown as T
  } catch {
    // Falls through to the 400 below.
  }
  throw new AppError(400, ErrorCodes.InvalidInput, 'Invalid cursor', [{ path: 'querystring/cursor', message: 'is not a cursor this API issued' }])
}
