import type { IncomingMessage } from 'node:http'
import proxyAddr from '@fastify/proxy-addr'
import { normalizeIP } from '@fastify/rate-limit'
import type { Config } from '../config/config.ts'

export type TrustProxy = boolean | string[] | ((address: string, hop: number) => boolean)

/** `TRUST_PROXY` as Fastify takes it: a hop count becomes "trust the first n hops". */
export function fastifyTrustProxy(value: Config['trustProxy']): TrustProxy {
  if (typeof value === 'number') return (_address, hop) => hop < value
  return typeof value === 'boolean' ? value : [...value]
}

/**
 * The client address of a raw request (WebSocket upgrades never reach Fastify), resolved exactly as
 * Fastify resolves `request.ip` under the same `TRUST_PROXY`, and normalised as the rate limiter
 * does: one IPv6 /64 is one client.
 */
export function clientAddressResolver(value: Config['trustProxy']): (req: IncomingMessage) => string {
  const trust = fastifyTrustProxy(value)
  const trustFn =
    typeof trust === 'function' ? trust : trust === true ? () => true : trust === false ? () => false : proxyAddr.compile(trust)
  return (req) => normalizeIP(proxyAddr(req, trustFn) ?? req.socket.remoteAddress ?? 'unknown')
}
