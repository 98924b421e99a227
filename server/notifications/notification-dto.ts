import type { NotificationActor, NotificationDto } from '../../shared/api/notifications.ts'
import { ANONYMOUS } from '../collab/context.ts'
import type { NotificationRow } from '../db/schema.ts'

const LINK_AUTHOR_PREFIX = 'link:'

/** Most actors an item keeps: a long-running document edited by many guests must not grow it forever. */
export const MAX_ACTORS = 20

export function toNotificationDto(row: NotificationRow): NotificationDto {
  return {
    id: row.id,
    type: row.type,
    documentId: row.document_id,
    documentTitle: row.document_title,
    actors: parseActors(row.actors),
    count: Number(row.count),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    readAt: row.read_at === null ? null : iso(row.read_at),
  }
}

export function parseActors(json: string): NotificationActor[] {
  try {
    const actors = JSON.parse(json) as unknown
    return Array.isArray(actors) ? (actors as NotificationActor[]) : []
  } catch {
    return []
  }
}

/** `fresh` (most recent first) ahead of `previous`, each person once, at most MAX_ACTORS. */
export function mergeActors(fresh: readonly NotificationActor[], previous: readonly NotificationActor[]): NotificationActor[] {
  const seen = new Set<string>()
  const merged: NotificationActor[] = []
  for (const actor of [...fresh, ...previous]) {
    if (seen.has(actor.id)) continue
    seen.add(actor.id)
    merged.push(actor)
    if (merged.length === MAX_ACTORS) break
  }
  return merged
}

/** An author id as the inbox names it: share-link holders are guests, whose link id says nothing. */
export function actorName(id: string, names: ReadonlyMap<string, string>): string {
  if (id === ANONYMOUS) return 'Anonymous'
  if (id.startsWith(LINK_AUTHOR_PREFIX)) return 'Guest'
  return names.get(id) ?? 'Deleted user'
}

/** User ids among author ids (names are looked up for these only). */
export function userAuthorIds(ids: Iterable<string>): string[] {
  return [...ids].filter((id) => id !== ANONYMOUS && !id.startsWith(LINK_AUTHOR_PREFIX))
}

const iso = (ms: number | string) => new Date(Number(ms)).toISOString()
