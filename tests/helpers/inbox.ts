import * as Y from 'yjs'
import type { NotificationDto } from '../../shared/api/notifications.ts'
import { api, type TestUser } from './api.ts'
import { postUpdate } from './raw-body.ts'
import type { RunningServer } from '../../server/server.ts'

/** Any running server: the test helper's or one started with `startServer` directly. */
type Server = Pick<RunningServer, 'url' | 'notifier'>

/** One stored row by `author` through the REST updates route (applied live, stored on its own). */
export async function editAs(server: Server, author: { accessToken: string }, documentId: string, text = 'x'): Promise<void> {
  const doc = new Y.Doc()
  doc.getText('default').insert(0, text)
  const response = await postUpdate(server, documentId, author.accessToken, Y.encodeStateAsUpdate(doc))
  doc.destroy()
  if (response.status !== 201) throw new Error(`edit failed: ${response.status} ${JSON.stringify(response.body)}`)
  // The row is stored; its inbox items are written by the notifier's queue.
  await server.notifier.idle()
}

/** The user's whole inbox (first page of up to 100), newest first. */
export async function inbox(server: Server, user: Pick<TestUser, 'accessToken'>, query = ''): Promise<NotificationDto[]> {
  const response = await api(server, 'GET', `/notifications?limit=100${query}`, { token: user.accessToken })
  if (response.status !== 200) throw new Error(`inbox failed: ${response.status} ${JSON.stringify(response.body)}`)
  return response.body.items
}

export async function unreadCount(server: Server, user: Pick<TestUser, 'accessToken'>): Promise<number> {
  const response = await api(server, 'GET', '/notifications/unread-count', { token: user.accessToken })
  if (response.status !== 200) throw new Error(`unread-count failed: ${response.status}`)
  return response.body.count
}

/** An item's type, document and actor ids: what most assertions compare. */
export const outline = (item: NotificationDto) => ({
  type: item.type,
  documentId: item.documentId,
  actors: item.actors.map((actor) => actor.id),
  count: item.count,
})
