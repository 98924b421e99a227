/** A failed call, with a message written for the person using the app. */
export class ApiError extends Error {
  /** HTTP status; 0 when the server could not be reached at all. */
  readonly status: number
  /** The server's machine-readable code (`not_found`, `forbidden`…), or `network`. */
  readonly code: string

  constructor(status: number, code: string, message: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

/** What to tell a person about a failed call; the server's own message where it is specific. */
export function describeError(status: number, serverMessage: string | undefined): string {
  switch (status) {
    case 401:
      return 'Your session has expired. Please sign in again.'
    case 403:
      return serverMessage ? `Not allowed: ${serverMessage}` : 'You are not allowed to do that.'
    case 404:
      return 'Not found: it may have been deleted, or it is not shared with you.'
    case 413:
      return 'That is too large for the server.'
    case 429:
      return 'Too many requests. Please wait a moment and try again.'
    default:
      if (status >= 500) return 'The server had a problem. Please try again.'
      return serverMessage ?? `Request failed (${status}).`
  }
}

export const NETWORK_ERROR_MESSAGE = "Can't reach the server. Check your connection and try again."

export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message
  if (error instanceof Error) return error.message
  return String(error)
}
