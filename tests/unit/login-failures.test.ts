import { describe, expect, it } from 'vitest'
import { createLoginFailureLimiter, MemoryAttemptCounterStore } from '../../server/auth/local/login-failures.ts'

function clock(start = 1_000_000) {
  const state = { now: start }
  return { state, now: () => state.now }
}

describe('login failure limiter', () => {
  it('refuses an email past its failures until the window closes, and tells how long to wait', async () => {
    const { state, now } = clock()
    const limiter = createLoginFailureLimiter({ maxFailures: 2, windowSeconds: 60, now })
    expect((await limiter.begin('a@example.com')).limited).toBe(false)
    state.now += 10_000
    expect((await limiter.begin('A@Example.com ')).limited).toBe(false)
    expect(await limiter.begin('a@example.com')).toEqual({ limited: true, retryAfterSeconds: 50 })
    expect((await limiter.begin('b@example.com')).limited).toBe(false)
    state.now += 50_000
    expect((await limiter.begin('a@example.com')).limited).toBe(false)
  })

  it('takes back only the successful attempt itself', async () => {
    const { now } = clock()
    const limiter = createLoginFailureLimiter({ maxFailures: 2, windowSeconds: 60, now })
    await limiter.begin('a@example.com')
    const success = await limiter.begin('a@example.com')
    if (success.limited) throw new Error('should not be limited yet')
    await success.succeeded()
    expect((await limiter.begin('a@example.com')).limited).toBe(false)
    expect((await limiter.begin('a@example.com')).limited).toBe(true)
  })

  it('does not take back an attempt from a window that has since closed', async () => {
    const { state, now } = clock()
    const limiter = createLoginFailureLimiter({ maxFailures: 1, windowSeconds: 60, now })
    const slow = await limiter.begin('a@example.com')
    state.now += 61_000
    await limiter.begin('a@example.com')
    if (slow.limited) throw new Error('should not be limited')
    await slow.succeeded()
    expect((await limiter.begin('a@example.com')).limited).toBe(true)
  })
})

describe('in-memory attempt counters', () => {
  it('forgets closed windows, so memory follows the emails tried recently', async () => {
    const store = new MemoryAttemptCounterStore()
    for (let i = 0; i < 1000; i++) await store.increment(`k${i}`, 1_000, i)
    expect(store.size).toBe(1000)
    await store.increment('late', 1_000, 1_500)
    expect(store.size).toBe(500)
    await store.increment('later', 1_000, 10_000)
    expect(store.size).toBe(1)
  })

  it('holds at most maxKeys open windows, forgetting the oldest', async () => {
    const store = new MemoryAttemptCounterStore(3)
    for (const key of ['a', 'b', 'c', 'd']) await store.increment(key, 60_000, 0)
    expect(store.size).toBe(3)
    expect((await store.increment('a', 60_000, 0)).count).toBe(1)
    expect((await store.increment('d', 60_000, 0)).count).toBe(2)
  })
})
