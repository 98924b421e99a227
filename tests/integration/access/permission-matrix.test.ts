import { randomBytes } from 'node:crypto'
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { applyServerEdit } from '../../../server/versions/server-edits.ts'
import { api, createDocument, createShareLink, registerUser, share, type TestUser } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { apiRaw } from '../../helpers/raw-body.ts'
import { startTestServer, type TestServer } from '../../helpers/server.ts'

const ACTORS = ['owner', 'editor', 'viewer', 'linkViewer', 'linkEditor', 'stranger', 'noToken'] as const
type Actor = (typeof ACTORS)[number]
type Expected = Record<Actor, number>

interface Users {
  owner: TestUser
  editor: TestUser
  viewer: TestUser
  stranger: TestUser
  /** Not on the document; the subject of invitations. */
  target: TestUser
  /** A viewer on the document; the subject of removals. */
  member: TestUser
}

interface Fixture {
  documentId: string
  tokens: Record<Actor, string | undefined>
  linkId: string
  invitationId: string
  /** An inbox item of the member's (being added): nobody else's to read or delete. */
  memberItemId: string
}

interface Row {
  expected: Expected
  /** Path under the server root with `:id`, `:userId`, `:linkId`, `:invitationId` filled in from the fixture. */
  path: (f: Fixture, u: Users) => string
  body?: (f: Fixture, u: Users) => unknown
  /** A non-JSON body (a binary Yjs update), sent instead of `body`. */
  raw?: { type: string; body: () => Uint8Array }
  /** A response that never ends by itself (an event stream): only its status is read. */
  stream?: boolean
}

const all = (status: number): Expected => Object.fromEntries(ACTORS.map((a) => [a, status])) as Expected
const byRole = (owner: number, editor: number, viewer: number, linkViewer: number, linkEditor: number, stranger: number, noToken: number): Expected => ({
  owner,
  editor,
  viewer,
  linkViewer,
  linkEditor,
  stranger,
  noToken,
})
const freshEmail = () => `new.${randomBytes(5).toString('hex')}@example.test`

/**
 * Every route of the app and what each kind of caller gets. A route the server serves that has no
 * row here fails the suite, so a new route can't ship without deciding who may call it.
 */
const MATRIX: Record<string, Row> = {
  'GET /health': { expected: all(200), path: () => '/health' },
  'GET /ready': { expected: all(200), path: () => '/ready' },
  // Open without METRICS_TOKEN (the default); with it, only that token (tests/integration/ops).
  'GET /metrics': { expected: all(200), path: () => '/metrics' },
  'GET /openapi.json': { expected: all(200), path: () => '/openapi.json' },
  // The web app's page and icon: the same for everyone (the app signs in from the page itself).
  'GET /': { expected: all(200), path: () => '/' },
  'GET /favicon.svg': { expected: all(200), path: () => '/favicon.svg' },
  'GET /api/v1/me': { expected: byRole(200, 200, 200, 401, 401, 200, 401), path: () => '/api/v1/me' },
  'POST /api/v1/auth/register': {
    expected: all(201),
    path: () => '/api/v1/auth/register',
    body: () => ({ email: freshEmail(), password: 'correct horse battery', name: 'New' }),
  },
  'POST /api/v1/auth/login': {
    expected: all(200),
    path: () => '/api/v1/auth/login',
    body: (_f, u) => ({ email: u.target.email, password: u.target.password }),
  },
  'POST /api/v1/auth/refresh': {
    expected: all(401),
    path: () => '/api/v1/auth/refresh',
    body: () => ({ refreshToken: `rt_${randomBytes(32).toString('base64url')}` }),
  },
  'POST /api/v1/auth/logout': {
    expected: all(204),
    path: () => '/api/v1/auth/logout',
    body: () => ({ refreshToken: `rt_${randomBytes(32).toString('base64url')}` }),
  },
  'GET /api/v1/documents': { expected: byRole(200, 200, 200, 401, 401, 200, 401), path: () => '/api/v1/documents' },
  'POST /api/v1/documents': {
    expected: byRole(201, 201, 201, 401, 401, 201, 401),
    path: () => '/api/v1/documents',
    body: () => ({ title: 'Mine' }),
  },
  'GET /api/v1/documents/:id': {
    expected: byRole(200, 200, 200, 200, 200, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}`,
  },
  'PATCH /api/v1/documents/:id': {
    expected: byRole(200, 200, 403, 403, 200, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}`,
    body: () => ({ title: 'Renamed' }),
  },
  'DELETE /api/v1/documents/:id': {
    expected: byRole(204, 403, 403, 403, 403, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}`,
  },
  'GET /api/v1/documents/:id/content': {
    expected: byRole(200, 200, 200, 200, 200, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/content?format=json`,
  },
  'GET /api/v1/documents/:id/collaborators': {
    expected: byRole(200, 200, 200, 403, 403, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/collaborators`,
  },
  'PUT /api/v1/documents/:id/collaborators/:userId': {
    expected: byRole(201, 403, 403, 403, 403, 404, 401),
    path: (f, u) => `/api/v1/documents/${f.documentId}/collaborators/${u.target.id}`,
    body: () => ({ role: 'editor' }),
  },
  'POST /api/v1/documents/:id/collaborators': {
    expected: byRole(202, 403, 403, 403, 403, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/collaborators`,
    body: (_f, u) => ({ email: u.target.email, role: 'viewer' }),
  },
  'DELETE /api/v1/documents/:id/collaborators/:userId': {
    expected: byRole(204, 403, 403, 403, 403, 404, 401),
    path: (f, u) => `/api/v1/documents/${f.documentId}/collaborators/${u.member.id}`,
  },
  'DELETE /api/v1/documents/:id/invitations/:invitationId': {
    expected: byRole(204, 403, 403, 403, 403, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/invitations/${f.invitationId}`,
  },
  'GET /api/v1/documents/:id/share-links': {
    expected: byRole(200, 403, 403, 403, 403, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/share-links`,
  },
  'POST /api/v1/documents/:id/share-links': {
    expected: byRole(201, 403, 403, 403, 403, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/share-links`,
    body: () => ({ role: 'viewer' }),
  },
  'DELETE /api/v1/documents/:id/share-links/:linkId': {
    expected: byRole(204, 403, 403, 403, 403, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/share-links/${f.linkId}`,
  },
  'POST /api/v1/documents/:id/updates': {
    expected: byRole(201, 201, 403, 403, 201, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/updates`,
    raw: { type: 'application/octet-stream', body: () => textUpdate('posted') },
  },
  'POST /api/v1/documents/:id/versions/:seq/restore': {
    expected: byRole(201, 201, 403, 404, 404, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/versions/0/restore`,
  },
  // History names people: share links get the stranger's 404.
  'GET /api/v1/documents/:id/versions': {
    expected: byRole(200, 200, 200, 404, 404, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/versions`,
  },
  'GET /api/v1/documents/:id/versions/:seq': {
    expected: byRole(200, 200, 200, 404, 404, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/versions/1?format=json`,
  },
  'PATCH /api/v1/documents/:id/versions/:seq': {
    expected: byRole(200, 200, 403, 404, 404, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/versions/1`,
    body: () => ({ label: 'Named' }),
  },
  'GET /api/v1/documents/:id/versions/:seq/diff': {
    expected: byRole(200, 200, 200, 404, 404, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/versions/1/diff`,
  },
  // Every account hears about its own inbox; share links are not accounts.
  'GET /api/v1/notifications/stream': {
    expected: byRole(200, 200, 200, 401, 401, 200, 401),
    path: () => '/api/v1/notifications/stream',
    stream: true,
  },
  'GET /api/v1/notifications': { expected: byRole(200, 200, 200, 401, 401, 200, 401), path: () => '/api/v1/notifications' },
  'GET /api/v1/notifications/unread-count': {
    expected: byRole(200, 200, 200, 401, 401, 200, 401),
    path: () => '/api/v1/notifications/unread-count',
  },
  'POST /api/v1/notifications/read-all': {
    expected: byRole(200, 200, 200, 401, 401, 200, 401),
    path: () => '/api/v1/notifications/read-all',
  },
  // Another person's item: the same 404 as an unknown one.
  'POST /api/v1/notifications/:id/read': {
    expected: byRole(404, 404, 404, 401, 401, 404, 401),
    path: (f) => `/api/v1/notifications/${f.memberItemId}/read`,
  },
  'DELETE /api/v1/notifications/:id': {
    expected: byRole(404, 404, 404, 401, 401, 404, 401),
    path: (f) => `/api/v1/notifications/${f.memberItemId}`,
  },
  // Muting is for people on the document; a share link is not one (no inbox), so it gets the stranger's 404.
  'GET /api/v1/documents/:id/subscription': {
    expected: byRole(200, 200, 200, 404, 404, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/subscription`,
  },
  'PUT /api/v1/documents/:id/subscription': {
    expected: byRole(200, 200, 200, 404, 404, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/subscription`,
    body: () => ({ muted: true }),
  },
  'GET /api/v1/me/notification-settings': {
    expected: byRole(200, 200, 200, 401, 401, 200, 401),
    path: () => '/api/v1/me/notification-settings',
  },
  'PUT /api/v1/me/notification-settings': {
    expected: byRole(200, 200, 200, 401, 401, 200, 401),
    path: () => '/api/v1/me/notification-settings',
    body: () => ({ email: 'off', digestMinutes: 60 }),
  },
  // Importing is editing: editor links may, like editors.
  'PUT /api/v1/documents/:id/content': {
    expected: byRole(201, 201, 403, 403, 201, 404, 401),
    path: (f) => `/api/v1/documents/${f.documentId}/content`,
    raw: { type: 'text/plain', body: () => new TextEncoder().encode('Imported') },
  },
}

/** Routes that are the same for everyone by design and need no per-role row. */
const PUBLIC_PREFIXES = ['/docs', '/assets']

type SocketOutcome = 'read-write' | 'read-only' | 'not-found' | 'unauthorized'
const SOCKETS: Record<Actor, SocketOutcome> = {
  owner: 'read-write',
  editor: 'read-write',
  viewer: 'read-only',
  linkViewer: 'read-only',
  linkEditor: 'read-write',
  stranger: 'not-found',
  noToken: 'unauthorized',
}

async function registerUsers(server: TestServer): Promise<Users> {
  const [owner, editor, viewer, stranger, target, member] = await Promise.all(
    ['Owner', 'Editor', 'Viewer', 'Stranger', 'Target', 'Member'].map((name) => registerUser(server, name)),
  )
  return { owner: owner!, editor: editor!, viewer: viewer!, stranger: stranger!, target: target!, member: member! }
}

/** A fresh document with every kind of access set up, so mutating cases never see each other. */
async function freshFixture(server: TestServer, users: Users): Promise<Fixture> {
  const { id: documentId } = await createDocument(server, users.owner)
  // Version 1, for the history routes.
  await applyServerEdit(server.collab, documentId, { author: users.owner.id, kind: 'update' }, () => null)
  await share(server, users.owner, documentId, users.editor, 'editor')
  await share(server, users.owner, documentId, users.viewer, 'viewer')
  await share(server, users.owner, documentId, users.member, 'viewer')
  const linkViewer = await createShareLink(server, users.owner, documentId, 'viewer')
  const linkEditor = await createShareLink(server, users.owner, documentId, 'editor')
  const removable = await createShareLink(server, users.owner, documentId, 'viewer')
  const token = users.owner.accessToken
  await api(server, 'POST', `/documents/${documentId}/collaborators`, { token, body: { email: freshEmail(), role: 'viewer' } })
  const { invitations } = (await api(server, 'GET', `/documents/${documentId}/collaborators`, { token })).body
  const memberItems = (await api(server, 'GET', '/notifications?limit=1', { token: users.member.accessToken })).body.items
  return {
    documentId,
    memberItemId: memberItems[0].id,
    linkId: removable.id,
    invitationId: invitations[0].id,
    tokens: {
      owner: users.owner.accessToken,
      editor: users.editor.accessToken,
      viewer: users.viewer.accessToken,
      linkViewer: linkViewer.token,
      linkEditor: linkEditor.token,
      stranger: users.stranger.accessToken,
      noToken: undefined,
    },
  }
}

describeEachDatabase('permission matrix', (databases) => {
  it('every route the server serves has a row in the matrix', async () => {
    const server = await startTestServer(await databases.create())
    const served = server.routes
      .filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS')
      .filter((r) => !PUBLIC_PREFIXES.some((prefix) => r.url === prefix || r.url.startsWith(`${prefix}/`)))
      .map((r) => `${r.method} ${r.url}`)
    const missing = served.filter((route) => !(route in MATRIX))
    expect(missing, 'routes without a row in MATRIX').toEqual([])
    const stale = Object.keys(MATRIX).filter((route) => !served.includes(route))
    expect(stale, 'rows for routes the server no longer serves').toEqual([])
  })

  it('every role gets the expected answer on every route', async () => {
    const server = await startTestServer(await databases.create())
    const users = await registerUsers(server)
    const failures: string[] = []
    for (const [route, row] of Object.entries(MATRIX)) {
      const method = route.split(' ')[0]!
      for (const actor of ACTORS) {
        const fixture = await freshFixture(server, users)
        const path = row.path(fixture, users)
        const token = fixture.tokens[actor]
        const response = row.stream
          ? await streamStatus(server, `/${path}`, token)
          : row.raw
          ? await apiRaw(server, method, `/${path}`, { token, type: row.raw.type, body: row.raw.body() })
          : await api(server, method, `/${path}`, { token, body: row.body?.(fixture, users) })
        if (response.status !== row.expected[actor]) {
          failures.push(`${route} as ${actor}: expected ${row.expected[actor]}, got ${response.status} ${JSON.stringify(response.body).slice(0, 120)}`)
        }
      }
    }
    expect(failures).toEqual([])
  })

  it('both socket paths give every role the expected access', async () => {
    const server = await startTestServer(await databases.create())
    const users = await registerUsers(server)
    const fixture = await freshFixture(server, users)
    const outcomes: Record<string, SocketOutcome> = {}
    for (const actor of ACTORS) {
      outcomes[`collab ${actor}`] = await hocuspocusOutcome(server, fixture.documentId, fixture.tokens[actor])
      outcomes[`yjs ${actor}`] = await yWebsocketOutcome(server, fixture.documentId, fixture.tokens[actor])
    }
    const expected = Object.fromEntries(
      ACTORS.flatMap((actor) => [
        [`collab ${actor}`, SOCKETS[actor]],
        [`yjs ${actor}`, SOCKETS[actor]],
      ]),
    )
    expect(outcomes).toEqual(expected)
  })
})

async function hocuspocusOutcome(server: TestServer, documentId: string, token: string | undefined): Promise<SocketOutcome> {
  const client = connectHocuspocus(server, documentId, { token })
  const outcome = await new Promise<SocketOutcome | { reason: string }>((resolve) => {
    client.provider.on('authenticated', ({ scope }: { scope: string }) => resolve(scope === 'readonly' ? 'read-only' : 'read-write'))
    client.provider.on('authenticationFailed', ({ reason }: { reason: string }) => resolve({ reason }))
  })
  client.destroy()
  if (typeof outcome === 'string') return outcome
  if (outcome.reason.startsWith('unauthorized')) return 'unauthorized'
  if (outcome.reason === 'not-found') return 'not-found'
  throw new Error(`unexpected refusal reason ${outcome.reason}`)
}

/** y-websocket has no scope message: a refusal is a close code, read-only shows as edits going nowhere. */
async function yWebsocketOutcome(server: TestServer, documentId: string, token: string | undefined): Promise<SocketOutcome> {
  const client = connectYWebsocket(server, documentId, { token })
  const result = await new Promise<'synced' | number>((resolve) => {
    client.provider.on('connection-close', (event: { code: number } | null) => resolve(event?.code ?? 0))
    void client.synced.then(() => resolve('synced'))
  })
  if (result !== 'synced') {
    client.destroy()
    if (result === 4401) return 'unauthorized'
    if (result === 4404) return 'not-found'
    throw new Error(`unexpected close code ${result}`)
  }
  const marker = `m${randomBytes(4).toString('hex')}`
  const dropped = server.collab.metrics.droppedReadOnlyUpdates
  client.doc.getMap('probe').set(marker, true)
  const live = () => server.collab.hocuspocus.documents.get(documentId)
  const outcome = await new Promise<SocketOutcome>((resolve) => {
    const timer = setInterval(() => {
      if (live()?.getMap('probe').get(marker) === true) resolve('read-write')
      else if (server.collab.metrics.droppedReadOnlyUpdates > dropped) resolve('read-only')
      else return
      clearInterval(timer)
    }, 10)
  })
  client.destroy()
  return outcome
}

/** The status of a long-lived GET (an event stream), then the connection is dropped. */
async function streamStatus(server: TestServer, path: string, token: string | undefined): Promise<{ status: number; body: unknown }> {
  const abort = new AbortController()
  const response = await fetch(`${server.url}${path.slice(1)}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: abort.signal,
  })
  const body = response.status === 200 ? 'stream' : await response.json()
  abort.abort()
  return { status: response.status, body }
}

/** A Yjs update inserting `text` into the `default` root of an empty document. */
function textUpdate(text: string): Uint8Array {
  const doc = new Y.Doc()
  doc.getText('default').insert(0, text)
  const update = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return update
}
