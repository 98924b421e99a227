import type { ApiResponse } from './api.ts'

/** One REST call with a raw body (binary Yjs updates, text) over real HTTP; `path` as for `api`. */
export async function apiRaw(
  server: { url: string },
  method: string,
  path: string,
  options: { token?: string; type: string; body: Uint8Array | string },
): Promise<ApiResponse> {
  const headers: Record<string, string> = { 'content-type': options.type }
  if (options.token) headers.authorization = `Bearer ${options.token}`
  // A copy backed by a plain ArrayBuffer, which is what fetch's types accept.
  const payload = typeof options.body === 'string' ? options.body : new Uint8Array(options.body)
  const url = path.startsWith('//') ? `${server.url}${path.slice(1)}` : `${server.url}/api/v1${path}`
  const response = await fetch(url, { method, headers, body: payload })
  const type = response.headers.get('content-type') ?? ''
  const raw = Buffer.from(await response.arrayBuffer())
  const body = type.includes('json') && raw.length > 0 ? JSON.parse(raw.toString()) : raw
  return { status: response.status, type, headers: response.headers, body }
}

/** POSTs a binary Yjs update to a document. */
export function postUpdate(server: { url: string }, documentId: string, token: string | undefined, update: Uint8Array) {
  return apiRaw(server, 'POST', `/documents/${documentId}/updates`, { token, type: 'application/octet-stream', body: update })
}
