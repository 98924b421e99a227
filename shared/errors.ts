/** Machine-readable error codes in every REST error body (`{ statusCode, code, error, message }`). */
export const ErrorCodes = {
  InvalidInput: 'invalid_input',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  NotFound: 'not_found',
  Conflict: 'conflict',
  PayloadTooLarge: 'payload_too_large',
  UnsupportedMediaType: 'unsupported_media_type',
  RateLimited: 'rate_limited',
  NotReady: 'not_ready',
  Internal: 'internal_error',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]
