/* eslint-disable no-console -- this module replaces the console methods themselves */
import { formatWithOptions } from 'node:util'
import type { FastifyBaseLogger } from 'fastify'

type Level = 'debug' | 'info' | 'warn' | 'error'

/**
 * Hocuspocus prints its warnings (a socket over its pre-authentication limits, an exception while
 * handling a message) with `console.*`, as plain text in the middle of our JSON log stream, where
 * log shippers can't parse them. This sends every console call through the logger instead, at the
 * matching level, tagged `module: "console"`; an Error argument goes out as `err` with its stack.
 * Returns a function that restores the console.
 */
export function routeConsoleToLogger(log: FastifyBaseLogger): () => void {
  const child = log.child({ module: 'console' })
  const original = { log: console.log, info: console.info, debug: console.debug, warn: console.warn, error: console.error }
  const route =
    (level: Level) =>
    (...args: unknown[]) => {
      const err = args.find((arg) => arg instanceof Error)
      const rest = args.filter((arg) => arg !== err)
      const message = rest.length > 0 ? formatWithOptions({ colors: false }, ...rest) : (err as Error | undefined)?.message
      child[level](err ? { err } : {}, message ?? '')
    }
  console.log = route('info')
  console.info = route('info')
  console.debug = route('debug')
  console.warn = route('warn')
  console.error = route('error')
  return () => Object.assign(console, original)
}
