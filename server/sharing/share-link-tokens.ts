import { createHash, randomBytes } from 'node:crypto'

/** Share-link tokens carry a prefix, so one `token` field can hold either a user token or a link. */
export const SHARE_LINK_PREFIX = 'shl_'

export function newShareLinkToken(): string {
  return SHARE_LINK_PREFIX + randomBytes(32).toString('base64url')
}

export function isShareLinkToken(token: string): boolean {
  return token.startsWith(SHARE_LINK_PREFIX)
}

/** Opaque tokens (share links, refresh tokens) are stored only as their SHA-256. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}
