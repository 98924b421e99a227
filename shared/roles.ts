/** Access levels on a document, weakest first. The owner is the document's creator. */
export const ROLES = ['viewer', 'editor', 'owner'] as const
export type Role = (typeof ROLES)[number]

/** Roles that can be granted to a collaborator or a share link. */
export const GRANTABLE_ROLES = ['viewer', 'editor'] as const
export type GrantableRole = (typeof GRANTABLE_ROLES)[number]

export function roleRank(role: Role): number {
  return ROLES.indexOf(role)
}

/** True when `role` is at least `minimum`. */
export function hasRole(role: Role | undefined, minimum: Role): boolean {
  return role !== undefined && roleRank(role) >= roleRank(minimum)
}
