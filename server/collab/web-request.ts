import type { IncomingMessage } from 'node:http'

/**
 * Hocuspocus v4 takes a Web `Request` for every connection and reads only its `url` (for
 * `requestParameters`) and `headers` (`requestHeaders`) from it. A real `Request` costs an
 * AbortSignal, two parsed URLs and undici's internal state per socket, held for the socket's life;
 * this is those two fields and nothing else. The URL stays relative, which Hocuspocus parses
 * with a plain `URLSearchParams`.
 */
export function toWebRequest(req: IncomingMessage): Request {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue
    try {
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v)
    } catch {
      // A header the WHATWG Headers class rejects is of no use to the hooks either.
    }
  }
  return { url: req.url ?? '/', headers } as unknown as Request
}
