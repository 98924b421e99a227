import { expect, it } from 'vitest'
import { enqueueOutbox } from '../../../server/notifications/outbox.queries.ts'
import { api, createDocument, documentWithOwner, registerUser, share } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { parsePrometheus, scrape } from '../../helpers/prometheus.ts'
import { startTestServer } from '../../helpers/server.ts'

/** Every metric the issue names, with its Prometheus type. */
const REQUIRED = {
  collab_connections: 'gauge',
  collab_documents_loaded: 'gauge',
  collab_updates_received_total: 'counter',
  collab_log_rows_appended_total: 'counter',
  collab_log_bytes_appended_total: 'counter',
  collab_store_duration_seconds: 'histogram',
  collab_store_failures_total: 'counter',
  collab_pending_updates: 'gauge',
  collab_readonly_updates_dropped_total: 'counter',
  http_request_duration_seconds: 'histogram',
  http_rate_limited_total: 'counter',
  outbox_pending: 'gauge',
  outbox_dead: 'gauge',
  redis_connected: 'gauge',
}

describeEachDatabase('metrics', (databases) => {
  it('serves every named metric and the default process metrics as Prometheus text', async () => {
    const server = await startTestServer(await databases.create())
    const metrics = await scrape(server)
    for (const [name, type] of Object.entries(REQUIRED)) expect(metrics.types.get(name), name).toBe(type)
    // prom-client's defaults: process and Node.js runtime.
    expect(metrics.value('process_cpu_user_seconds_total')).toBeGreaterThan(0)
    expect(metrics.value('process_resident_memory_bytes')).toBeGreaterThan(0)
    expect(metrics.value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0)
    expect(metrics.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge')
    // Both protocols have a series from the start; no Redis in single-instance mode.
    expect(metrics.value('collab_connections', { protocol: 'collab' })).toBe(0)
    expect(metrics.value('collab_connections', { protocol: 'y-websocket' })).toBe(0)
    expect(metrics.value('redis_connected')).toBe(0)
    // Multi-instance mode wires the probe; it is asked at each scrape.
    let connected = true
    server.metrics.setRedisProbe(() => connected)
    expect((await scrape(server)).value('redis_connected')).toBe(1)
    connected = false
    expect((await scrape(server)).value('redis_connected')).toBe(0)
  })

  it('counts connections per protocol, updates received and log appends as real clients edit', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'counted')
    const before = await scrape(server)
    expect(before.value('collab_log_rows_appended_total')).toBe(0)

    const hp = connectHocuspocus(server, 'counted', { token: owner.accessToken })
    const yws = connectYWebsocket(server, 'counted', { token: owner.accessToken })
    await Promise.all([hp.synced, yws.synced])
    const open = await scrape(server)
    expect(open.value('collab_connections', { protocol: 'collab' })).toBe(1)
    expect(open.value('collab_connections', { protocol: 'y-websocket' })).toBe(1)
    expect(open.value('collab_documents_loaded')).toBe(1)

    hp.doc.getText('default').insert(0, 'hello ')
    yws.doc.getText('default').insert(0, 'world')
    hp.doc.getText('default').insert(0, '!')
    await expect.poll(() => server.collab.hocuspocus.documents.get('counted')?.getText('default').length).toBe(12)
    // Stored after the debounce: rows, their bytes and one timed store each; nothing left pending.
    await expect
      .poll(async () => (await scrape(server)).value('collab_log_rows_appended_total'))
      .toBeGreaterThanOrEqual(1)
    await expect.poll(async () => (await scrape(server)).value('collab_pending_updates')).toBe(0)
    const stored = await scrape(server)
    expect(stored.value('collab_updates_received_total')).toBeGreaterThanOrEqual(3)
    const rows = stored.value('collab_log_rows_appended_total')!
    expect(stored.value('collab_log_bytes_appended_total')).toBeGreaterThan(12)
    expect(stored.value('collab_store_duration_seconds_count')).toBeGreaterThanOrEqual(rows)
    expect(stored.value('collab_store_duration_seconds_sum')).toBeGreaterThan(0)
    expect(stored.value('collab_store_duration_seconds_bucket', { le: '+Inf' })).toBe(
      stored.value('collab_store_duration_seconds_count'),
    )
    expect(stored.value('collab_store_failures_total')).toBe(0)
    // What the counter says is what the database holds.
    const inDb = await server.database.db
      .selectFrom('document_updates')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('document_id', '=', 'counted')
      .executeTakeFirstOrThrow()
    expect(rows).toBe(Number(inDb.n))

    hp.destroy()
    yws.destroy()
    await expect.poll(async () => (await scrape(server)).value('collab_connections', { protocol: 'collab' })).toBe(0)
    expect((await scrape(server)).value('collab_connections', { protocol: 'y-websocket' })).toBe(0)
  })

  it('counts updates dropped from read-only connections', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'read-only')
    const viewer = await registerUser(server, 'Viewer')
    await share(server, owner, 'read-only', viewer, 'viewer')
    const hp = connectHocuspocus(server, 'read-only', { token: viewer.accessToken })
    const yws = connectYWebsocket(server, 'read-only', { token: viewer.accessToken })
    await Promise.all([hp.synced, yws.synced])
    hp.doc.getText('default').insert(0, 'no')
    yws.doc.getText('default').insert(0, 'nope')
    await expect
      .poll(async () => (await scrape(server)).value('collab_readonly_updates_dropped_total'))
      .toBeGreaterThanOrEqual(2)
    expect((await scrape(server)).value('collab_log_rows_appended_total')).toBe(0)
  })

  it('labels request durations with the route pattern, never the raw URL, and counts 429s', async () => {
    const server = await startTestServer(await databases.create(), { RATE_LIMIT_PER_MINUTE: '3' })
    const owner = await registerUser(server, 'Owner')
    const id = 'a-very-specific-document-id'
    await createDocument(server, owner, id)
    expect((await api(server, 'GET', `/documents/${id}`, { token: owner.accessToken })).status).toBe(200)
    expect((await api(server, 'GET', '/documents/no-such-document-xyz', { token: owner.accessToken })).status).toBe(404)
    expect((await api(server, 'GET', '/documents/x', { token: owner.accessToken })).status).toBe(429)
    expect((await api(server, 'GET', '//no/such/path/4711')).status).toBe(404)

    const metrics = await scrape(server)
    const http = metrics.samples.filter((s) => s.name === 'http_request_duration_seconds_count')
    const routes = new Set(http.map((s) => s.labels.route))
    expect(routes).toContain('/api/v1/documents/:id')
    expect(routes).toContain('unmatched')
    for (const sample of metrics.samples) {
      for (const value of Object.values(sample.labels)) {
        expect(value).not.toContain(id)
        expect(value).not.toContain('no-such-document-xyz')
        expect(value).not.toContain('4711')
      }
    }
    const byDocument = (status: string) =>
      metrics.value('http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/documents/:id', status })
    expect(byDocument('200')).toBe(1)
    expect(byDocument('404')).toBe(1)
    expect(byDocument('429')).toBe(1)
    expect(metrics.value('http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/documents', status: '201' })).toBe(1)
    expect(metrics.value('http_rate_limited_total', { route: '/api/v1/documents/:id' })).toBe(1)
  })

  it('reports the outbox queue depth and dead letters', async () => {
    const server = await startTestServer(await databases.create())
    const { db } = server.database
    // Email rows stay pending while SMTP is off; one row is marked dead as the worker would.
    await enqueueOutbox(db, [
      { channel: 'email', idempotencyKey: 'metrics-1', payload: {} },
      { channel: 'email', idempotencyKey: 'metrics-2', payload: {} },
      { channel: 'email', idempotencyKey: 'metrics-3', payload: {} },
    ])
    await db.updateTable('outbox').set({ status: 'dead' }).where('idempotency_key', '=', 'metrics-3').execute()
    const metrics = await scrape(server)
    expect(metrics.value('outbox_pending')).toBe(2)
    expect(metrics.value('outbox_dead')).toBe(1)
  })

  it('requires the METRICS_TOKEN bearer token when it is set', async () => {
    const token = 'metrics-token-0123456789abcdef'
    const server = await startTestServer(await databases.create(), { METRICS_TOKEN: token })
    const without = await api(server, 'GET', '//metrics')
    expect(without.status).toBe(401)
    expect(without.body).toMatchObject({ statusCode: 401, code: 'unauthorized' })
    expect((await api(server, 'GET', '//metrics', { token: `${token}x` })).status).toBe(401)
    expect((await api(server, 'GET', '//metrics', { token: token.slice(0, -1) })).status).toBe(401)
    expect((await api(server, 'GET', '//metrics', { headers: { authorization: token } })).status).toBe(401)
    // A user's access token is no metrics token.
    const user = await registerUser(server, 'User')
    expect((await api(server, 'GET', '//metrics', { token: user.accessToken })).status).toBe(401)
    const metrics = await scrape(server, token)
    expect(metrics.types.get('collab_connections')).toBe('gauge')
  })

  it('parses strictly: a malformed exposition fails', () => {
    expect(() => parsePrometheus('collab_connections{protocol="collab"} 1\n')).not.toThrow()
    expect(() => parsePrometheus('collab connections 1\n')).toThrow()
    expect(() => parsePrometheus('metric{label=unquoted} 1\n')).toThrow()
    expect(() => parsePrometheus('metric 1 2 3\n')).toThrow()
  })
})
