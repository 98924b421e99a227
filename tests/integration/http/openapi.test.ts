import { Ajv2020 } from 'ajv/dist/2020.js'
import { expect, it } from 'vitest'
import { api } from '../../helpers/api.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { startTestServer } from '../../helpers/server.ts'

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

interface Operation {
  tags?: string[]
  parameters?: { name: string; in: string; required?: boolean; schema?: object }[]
  requestBody?: { content: Record<string, { schema?: object }> }
  responses: Record<string, { description: string; content?: Record<string, { schema?: object }> }>
  security?: Record<string, string[]>[]
}

/** Every value under `node`, depth first, so the whole document can be checked. */
function* walk(node: unknown): Generator<[string, unknown]> {
  if (node === null || typeof node !== 'object') return
  for (const [key, value] of Object.entries(node)) {
    yield [key, value]
    yield* walk(value)
  }
}

describeEachDatabase('OpenAPI and docs', (databases) => {
  it('serves a valid OpenAPI 3.1 document describing every route', async () => {
    const server = await startTestServer(await databases.create())
    const response = await api(server, 'GET', '//openapi.json')
    expect(response.status).toBe(200)
    expect(response.type).toContain('application/json')
    const spec = response.body

    expect(spec.openapi).toMatch(/^3\.1\.\d+$/)
    expect(spec.info).toMatchObject({ title: expect.any(String), version: expect.any(String) })
    expect(spec.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(spec.tags.map((t: { name: string }) => t.name)).toEqual(
      expect.arrayContaining(['documents', 'sharing', 'auth', 'health']),
    )

    const paths = spec.paths as Record<string, Record<string, Operation>>
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining(['/api/v1/documents', '/api/v1/documents/{id}', '/health', '/ready']),
    )
    expect(paths['/api/v1/documents']).toHaveProperty('post')
    expect(paths['/api/v1/documents/{id}']).toHaveProperty('get')
    // The spec and the UI describe the API; they are not part of it.
    expect(Object.keys(paths).filter((p) => p === '/openapi.json' || p.startsWith('/docs'))).toEqual([])

    const ajv = new Ajv2020({ strict: false, validateFormats: false })
    const schemes = Object.keys(spec.components.securitySchemes)
    for (const [path, item] of Object.entries(paths)) {
      expect(path).toMatch(/^\//)
      for (const [method, operation] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`
        expect(METHODS, where).toContain(method)
        expect(Object.keys(operation.responses).length, where).toBeGreaterThan(0)
        for (const r of Object.values(operation.responses)) expect(typeof r.description, where).toBe('string')
        // Every `{param}` in the path is declared as a required path parameter.
        for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
          expect(operation.parameters, where).toContainEqual(
            expect.objectContaining({ name, in: 'path', required: true }),
          )
        }
        for (const requirement of operation.security ?? []) {
          for (const scheme of Object.keys(requirement)) expect(schemes, where).toContain(scheme)
        }
        // Every schema is valid JSON Schema 2020-12, the dialect of OpenAPI 3.1.
        const schemas = [
          ...(operation.parameters ?? []).map((p) => p.schema),
          ...Object.values(operation.requestBody?.content ?? {}).map((c) => c.schema),
          ...Object.values(operation.responses).flatMap((r) => Object.values(r.content ?? {}).map((c) => c.schema)),
        ]
        for (const schema of schemas) {
          if (schema) expect(ajv.validateSchema(schema), `${where}: ${ajv.errorsText()}`).toBe(true)
        }
      }
    }

    // Every $ref resolves inside the document; no stray `$id` makes tools resolve against a base URI.
    for (const [key, value] of walk(spec)) {
      expect(key).not.toBe('$id')
      if (key === '$ref') {
        expect(value).toMatch(/^#\//)
        const target = (value as string)
          .slice(2)
          .split('/')
          .reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], spec)
        expect(target, value as string).toBeDefined()
      }
    }
  })

  it('marks the document routes as needing a Bearer token, and health as public', async () => {
    const server = await startTestServer(await databases.create())
    const { paths } = (await api(server, 'GET', '//openapi.json')).body
    expect(paths['/api/v1/documents'].post.security).toEqual([{ bearerAuth: [] }])
    expect(paths['/api/v1/documents/{id}'].get.security).toEqual([{ bearerAuth: [] }])
    expect(paths['/health'].get.security).toBeUndefined()
  })

  it('serves Swagger UI at /docs with a policy that lets it run', async () => {
    const server = await startTestServer(await databases.create())
    const page = await api(server, 'GET', '//docs')
    expect(page.status).toBe(200)
    expect(page.type).toContain('text/html')
    const html = page.body.toString()
    expect(html).toContain('swagger-ui')

    // The page's scripts and styles load from this server, which its policy allows…
    const csp = page.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('upgrade-insecure-requests')
    for (const [, asset] of html.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)) {
      const loaded = await fetch(new URL(asset!, `${server.url}/docs`))
      expect(loaded.status, asset).toBe(200)
    }
    // …and the UI reads the same document as /openapi.json.
    const json = await api(server, 'GET', '//docs/json')
    expect(json.status).toBe(200)
    expect(json.body.paths).toEqual((await api(server, 'GET', '//openapi.json')).body.paths)
  })
})
