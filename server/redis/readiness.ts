import type { RedisConnection } from './connection.ts'
import type { ControlChannel } from './control-channel.ts'

/** How long `/ready` waits for Redis to answer: well inside any load balancer's probe timeout. */
export const READY_PING_TIMEOUT_MS = 500

/**
 * `/ready`'s Redis check: Redis answers a PING within the deadline, and the control channel is
 * subscribed, so access changes made on other instances reach this one's sockets. Never hangs:
 * a dropped connection answers at once, a frozen server after the deadline.
 */
export function redisReadiness(redis: RedisConnection, control: ControlChannel) {
  return async (): Promise<{ ok: boolean; detail: Record<string, unknown> }> => {
    const answered = await redis.ping(READY_PING_TIMEOUT_MS)
    const subscribed = control.subscribed
    return { ok: answered && subscribed, detail: { answered, subscribed, timeoutMs: READY_PING_TIMEOUT_MS } }
  }
}
