import type { FastifyRequest } from 'fastify'

/** Query parameters that carry credentials (EventSource and y-websocket can't send headers). */
const SECRET_PARAMS = /([?&](?:token|access_token)=)[^&#]*/gi

/** The URL with credential values replaced, for logs. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]')
}

/**
 * Fastify's default request serializer, with credentials cut out of the URL: request logs
 * ("incoming request") would otherwise write `?token=` of every stream and socket URL.
 */
export function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactUrl(request.url),
    version: request.headers?.['accept-version'],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  }
}
