import fastifyStatic from '@fastify/static'
import type { FastifyHelmetOptions } from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Config } from '../config/config.ts'
import { buildWebApp, type WebBuild } from './bundle.ts'

const PUBLIC_DIR = fileURLToPath(new URL('../../web/public/', import.meta.url))

/**
 * The app pages' policy (the API's own allows nothing). Scripts and styles come only from our own
 * hashed files: Tiptap's injected `<style>` is turned off (`injectCSS: false`, its rules are in our
 * stylesheet) and caret colours are set through the CSSOM, which CSP does not govern. `connect-src
 * 'self'` covers the REST API, the notification stream and the same-origin WebSocket.
 */
export const APP_PAGE_HELMET = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      fontSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
} satisfies FastifyHelmetOptions

const AssetParams = Type.Object({ file: Type.String({ pattern: '^[A-Za-z0-9._-]+$', maxLength: 200 }) })

/**
 * The browser app at `/`: index.html (never cached: it names the current bundle) and its hashed
 * assets (cached for a year). The bundle is built on the first request, so servers and tests that
 * never serve the app never pay for it.
 */
export async function webRoutes(app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  await app.register(fastifyStatic, { root: PUBLIC_DIR, serve: false })
  let building: Promise<WebBuild> | undefined
  const build = () => {
    building ??= buildWebApp().catch((error: unknown) => {
      building = undefined
      throw error
    })
    return building
  }
  // The page says which identity provider to offer, without an inline script.
  const meta = `<meta name="collab-auth" content="${config.auth.provider}">`

  app.get('/', { schema: { hide: true }, helmet: APP_PAGE_HELMET }, async (_request, reply) => {
    const { indexHtml } = await build()
    return reply
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(indexHtml.replace('<!-- app:config -->', meta))
  })

  app.get(
    '/assets/:file',
    { schema: { hide: true, params: AssetParams }, helmet: APP_PAGE_HELMET },
    async (request, reply) => {
      const { dir } = await build()
      const { file } = request.params as { file: string }
      return reply.sendFile(file, join(dir, 'assets'), { maxAge: '365d', immutable: true })
    },
  )

  app.get('/favicon.svg', { schema: { hide: true } }, async (_request, reply) =>
    reply.sendFile('favicon.svg', PUBLIC_DIR, { maxAge: '1d' }),
  )
}
