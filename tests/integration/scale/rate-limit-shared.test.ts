import { randomBytes } from 'node:crypto'
import { expect, it } from 'vitest'
import { api, type ApiResponse, createDocument, registerUser } from '../../helpers/api.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { startInstances } from '../../helpers/multi-instance.ts'
import type { ServerProcess } from '../../helpers/process.ts'
import { startTestRedis } from '../../helpers/redis.ts'

const LIMIT = 6

function expectRateLimited(response: ApiResponse) {
  expect(response.status).toBe(429)
  expect(response.body).toMatchObject({ statusCode: 429, code: 'rate_limited' })
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0)
}

/** Alternates A, B, A, B… so every other request lands on the other instance. */
const alternate = (instances: ServerProcess[], i: number) => instances[i % instances.length]!

const login = (instance: ServerProcess, email: string, password: string) =>
  api(instance, 'POST', '/auth/login', { body: { email, password } })

describeEachDatabase('[multi-instance] shared rate limits', (databases) => {
  it("requests to both instances spend one caller's budget", async () => {
    const instances = await startInstances(await databases.create(), { env: { RATE_LIMIT_PER_MINUTE: String(LIMIT) } })
    const user = await registerUser(instances[0], 'Busy')
    for (let i = 0; i < LIMIT; i++) {
      const response = await api(alternate(instances, i), 'GET', '/me', { token: user.accessToken })
      expect(response.status).toBe(200)
      expect(response.headers.get('x-ratelimit-remaining')).toBe(String(LIMIT - 1 - i))
    }
    for (const instance of instances) expectRateLimited(await api(instance, 'GET', '/me', { token: user.accessToken }))
    // Anonymous callers are counted by address, on both instances alike.
    for (let i = 0; i < LIMIT; i++) await api(alternate(instances, i), 'GET', '/documents/nope')
    for (const instance of instances) expectRateLimited(await api(instance, 'GET', '/documents/nope'))
  })

  it('the auth routes count one address across instances', async () => {
    const instances = await startInstances(await databases.create(), { env: { AUTH_RATE_LIMIT_PER_MINUTE: String(LIMIT) } })
    for (let i = 0; i < LIMIT; i++) {
      expect((await login(alternate(instances, i), 'nobody@example.test', 'wrong password')).status).toBe(401)
    }
    for (const instance of instances) expectRateLimited(await login(instance, 'nobody@example.test', 'wrong password'))
  })

  it("failed sign-ins are counted per email across instances, and the right password doesn't reset them", async () => {
    const failures = 3
    const instances = await startInstances(await databases.create(), { env: { LOGIN_FAILURES_PER_EMAIL: String(failures) } })
    const user = await registerUser(instances[0], 'Guessed')
    for (let i = 0; i < failures; i++) expect((await login(alternate(instances, i), user.email, 'guess')).status).toBe(401)
    // The next attempt is over the limit on either instance, with the right password too.
    expectRateLimited(await login(instances[1], user.email, user.password))
    expectRateLimited(await login(instances[0], user.email, 'guess'))
  })

  it('share links per document and invitations per user are budgets shared by the instances', async () => {
    const perHour = 2
    const instances = await startInstances(await databases.create(), {
      env: { SHARE_LINKS_PER_DOCUMENT_PER_HOUR: String(perHour), INVITATIONS_PER_HOUR: String(perHour) },
    })
    const owner = await registerUser(instances[0], 'Owner')
    const { id } = await createDocument(instances[0], owner)
    const link = (instance: ServerProcess) =>
      api(instance, 'POST', `/documents/${id}/share-links`, { token: owner.accessToken, body: { role: 'viewer' } })
    const invite = (instance: ServerProcess) =>
      api(instance, 'POST', `/documents/${id}/collaborators`, {
        token: owner.accessToken,
        body: { email: `guest.${randomBytes(4).toString('hex')}@example.test`, role: 'viewer' },
      })
    for (let i = 0; i < perHour; i++) {
      expect((await link(alternate(instances, i))).status).toBe(201)
      expect((await invite(alternate(instances, i))).status).toBeLessThan(300)
    }
    for (const instance of instances) {
      expectRateLimited(await link(instance))
      expectRateLimited(await invite(instance))
    }
  })

  it('with Redis unreachable, limits fail open with a warning and the API keeps answering', async () => {
    const budget = 20
    const redis = await startTestRedis()
    const instances = await startInstances(await databases.create(), {
      redisUrl: redis.url,
      env: { RATE_LIMIT_PER_MINUTE: String(budget), LOGIN_FAILURES_PER_EMAIL: '2' },
    })
    const user = await registerUser(instances[0], 'Patient')
    const me = (instance: ServerProcess) => api(instance, 'GET', '/me', { token: user.accessToken })
    await redis.kill()
    // More than the budget, and every request served: nothing can be counted, so nothing is refused.
    for (let i = 0; i < budget + 2; i++) expect((await me(alternate(instances, i))).status).toBe(200)
    expect((await login(instances[0], user.email, user.password)).status).toBe(200)
    // Failed sign-ins are still counted meanwhile, by each instance on its own.
    for (let i = 0; i < 2; i++) expect((await login(instances[1], user.email, 'guess')).status).toBe(401)
    expectRateLimited(await login(instances[1], user.email, user.password))
    for (const instance of instances) {
      expect(instance.output()).toMatch(/"level":40[^\n]*rate limit/i)
      expect(instance.child.exitCode).toBeNull()
    }

    await redis.restart()
    // Counting is shared again once Redis answers (it came back empty: a fresh budget). Each
    // instance reconnects on its own schedule: wait until both count.
    for (const instance of instances) {
      await expect
        .poll(async () => Number((await me(instance)).headers.get('x-ratelimit-remaining')), { timeout: 10_000, interval: 200 })
        .toBeLessThan(budget)
    }
    const before = Number((await me(instances[0])).headers.get('x-ratelimit-remaining'))
    const after = Number((await me(instances[1])).headers.get('x-ratelimit-remaining'))
    expect(after).toBe(before - 1)
  })
})
