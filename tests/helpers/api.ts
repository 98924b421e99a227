import { randomBytes } from 'node:crypto'
import type { DocumentDto } from '../../shared/api/documents.ts'

interface Reachable {
  url: string
}

export interface ApiResponse {
  status: number
  type: string
  headers: Headers
  // Tests inspect arbitrary JSON bodies.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any
}

/** One REST call over real HTTP. `path` is under `/api/v1` unless it starts with `//`. */
export async function api(
  server: Reachable,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.token) headers.authorization = `Bearer ${options.token}`
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const url = path.startsWith('//') ? `${server.url}${path.slice(1)}` : `${server.url}/api/v1${path}`
  const response = await fetch(url, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  })
  const type = response.headers.get('content-type') ?? ''
  const raw = Buffer.from(await response.arrayBuffer())
  const body = type.includes('json') && raw.length > 0 ? JSON.parse(raw.toString()) : raw
  return { status: response.status, type, headers: response.headers, body }
}

export interface TestUser {
  id: string
  email: string
  name: string
  password: string
  accessToken: string
  refreshToken: string
}

/** Registers a user through the built-in provider's REST route. */
export async function registerUser(server: Reachable, name = 'User'): Promise<TestUser> {
  const email = `${name.toLowerCase().replace(/\W+/g, '.')}.${randomBytes(4).toString('hex')}@example.test`
  const password = `pw-${randomBytes(8).toString('hex')}`
  const response = await api(server, 'POST', '/auth/register', { body: { email, password, name } })
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${JSON.stringify(response.body)}`)
  const { user, accessToken, refreshToken } = response.body
  return { id: user.id, email, name, password, accessToken, refreshToken }
}

/** Creates a document owned by `owner`. */
export async function createDocument(
  server: Reachable,
  owner: { accessToken: string },
  id = `doc-${randomBytes(6).toString('hex')}`,
  title = 'Test document',
): Promise<DocumentDto> {
  const response = await api(server, 'POST', '/documents', { token: owner.accessToken, body: { id, title } })
  if (response.status !== 201) throw new Error(`create failed: ${response.status} ${JSON.stringify(response.body)}`)
  return response.body
}

/** Shares a document with `user` in `role`. */
export async function share(
  server: Reachable,
  owner: { accessToken: string },
  documentId: string,
  user: { id: string },
  role: 'viewer' | 'editor',
): Promise<void> {
  const response = await api(server, 'PUT', `/documents/${documentId}/collaborators/${user.id}`, {
    token: owner.accessToken,
    body: { role },
  })
  if (response.status >= 300) throw new Error(`share failed: ${response.status} ${JSON.stringify(response.body)}`)
}

/** Creates a share link and returns its id and token. */
export async function createShareLink(
  server: Reachable,
  owner: { accessToken: string },
  documentId: string,
  role: 'viewer' | 'editor',
  expiresAt?: string,
): Promise<{ id: string; token: string }> {
  const response = await api(server, 'POST', `/documents/${documentId}/share-links`, {
    token: owner.accessToken,
    body: expiresAt ? { role, expiresAt } : { role },
  })
  if (response.status !== 201) throw new Error(`share link failed: ${response.status} ${JSON.stringify(response.body)}`)
  return { id: response.body.id, token: response.body.token }
}

/** Registers a fresh owner and creates `documentId` for them: the usual start of a sync test. */
export async function documentWithOwner(server: Reachable, documentId: string): Promise<TestUser> {
  const owner = await registerUser(server, 'Owner')
  await createDocument(server, owner, documentId)
  return owner
}
