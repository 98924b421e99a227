import type { IncomingMessage } from 'node:http'

/** Hocuspocus v4 wants a Web `Request` for every connection; it reads only its URL and headers. */
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
  let url: URL
  try {
    url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`)
  } catch {
    url = new URL(req.url ?? '/', 'http://localhost')
  }
  return new Request(url, { headers })
}
