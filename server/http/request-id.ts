import { AsyncLocalStorage } from 'node:async_hooks'
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'

export const REQUEST_ID_HEADER = 'x-request-id'

/**
 * What a caller's `X-Request-Id` may be. The id goes into every log line and back out in a
 * header, so only a short, plain token is taken as sent: no spaces, quotes or newlines to forge
 * log fields with, nothing long enough to bloat every line.
 */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Fastify `genReqId`: the caller's `X-Request-Id` when it is safe, else a fresh UUID. */
export function requestIdFor(req: IncomingMessage): string {
  const sent = req.headers[REQUEST_ID_HEADER]
  return typeof sent === 'string' && SAFE_REQUEST_ID.test(sent) ? sent : randomUUID()
}

interface RequestScope {
  readonly id: string
  /** False once the response is done: work the request left behind (timers) is not "the request". */
  open: boolean
}

const scopes = new AsyncLocalStorage<RequestScope>()
/** Set on Fastify's per-request logger (and inherited by its children), which binds `reqId` itself. */
const BINDS_REQUEST_ID = Symbol('binds reqId')

/**
 * Fastify `childLoggerFactory`: the per-request logger, marked so `requestIdMixin` doesn't add a
 * second `reqId` to it. (pino children are created from their parent's object, so they inherit
 * the mark along with the binding.)
 */
export function requestLogger(
  logger: FastifyBaseLogger,
  bindings: Record<string, unknown>,
  options: object,
): FastifyBaseLogger {
  const child = logger.child(bindings, options)
  Object.defineProperty(child, BINDS_REQUEST_ID, { value: true })
  return child
}

/**
 * pino `mixin`: a line written while a request runs carries its `reqId`, whichever logger wrote
 * it (the auth, collab and notification modules log through their own children of the app's
 * logger, not through `request.log`).
 */
export function requestIdMixin(_merge: object, _level: number, logger: object): object {
  if ((logger as { [BINDS_REQUEST_ID]?: boolean })[BINDS_REQUEST_ID]) return {}
  const scope = scopes.getStore()
  return scope?.open ? { reqId: scope.id } : {}
}

/**
 * Echoes the request id in `X-Request-Id` and runs the request's hooks and handler inside its
 * scope (Fastify carries the async context across body parsing itself, through an AsyncResource).
 * Register before any other onRequest hook.
 */
export function registerRequestIds(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    // Set first, so every answer has it: errors, 404s, 429s and hijacked streams (which copy
    // the reply's headers) included.
    reply.header(REQUEST_ID_HEADER, request.id)
    const scope: RequestScope = { id: request.id, open: true }
    reply.raw.once('close', () => {
      scope.open = false
    })
    scopes.run(scope, done)
  })
}
