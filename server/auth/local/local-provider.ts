import type { FastifyBaseLogger } from 'fastify'
import type { AuthConfig } from '../../config/config.ts'
import type { Db } from '../../db/schema.ts'
import type { IdentityProvider } from '../identity-provider.ts'
import type { SessionEvents } from '../session-events.ts'
import { createAccessTokens } from './access-tokens.ts'
import { loadAuthSecret } from './auth-secret.ts'
import { localAuthRoutes } from './local-auth.routes.ts'
import type { RedisConnection } from '../../redis/connection.ts'
import { createLoginFailureLimiter } from './login-failures.ts'
import { RedisAttemptCounterStore } from './login-failures-redis.ts'
import { createRefreshTokens } from './refresh-tokens.ts'

/** The default of `AUTH_RATE_LIMIT_PER_MINUTE`, for callers that don't pass the configured one. */
const DEFAULT_AUTH_RATE_LIMIT_PER_MINUTE = 10

/**
 * The built-in email/password provider: short-lived HS256 access JWTs, rotating refresh tokens,
 * and the `/api/v1/auth/*` routes. REST Bearer tokens reach `verifyAccessToken` through the
 * authenticator, so there is no `identifyRequest`.
 */
export async function createLocalProvider(
  auth: Extract<AuthConfig, { provider: 'local' }>,
  deps: {
    db: Db
    log: FastifyBaseLogger
    dataDir: string
    authRateLimitPerMinute?: number
    sessions?: SessionEvents
    /** Multi-instance mode: failed sign-ins are counted in Redis, once for all instances. */
    redis?: RedisConnection
  },
): Promise<IdentityProvider> {
  const log = deps.log.child({ module: 'local-auth' })
  const secret = await loadAuthSecret(auth.secret, { dataDir: deps.dataDir, log })
  const accessTokens = createAccessTokens(secret, auth.accessTokenTtlSeconds)
  const refreshTokens = createRefreshTokens(deps.db, {
    ttlSeconds: auth.refreshTokenTtlSeconds,
    log,
    sessions: deps.sessions,
  })
  return {
    kind: 'local',
    verifyAccessToken: (token) => accessTokens.verify(token),
    async register(app) {
      await app.register(localAuthRoutes, {
        prefix: '/api/v1',
        db: deps.db,
        accessTokens,
        refreshTokens,
        rateLimitPerMinute: deps.authRateLimitPerMinute ?? DEFAULT_AUTH_RATE_LIMIT_PER_MINUTE,
        loginFailures: createLoginFailureLimiter({
          maxFailures: auth.loginFailuresPerEmail,
          windowSeconds: auth.loginFailureWindowSeconds,
          store: deps.redis && new RedisAttemptCounterStore(deps.redis, log),
        }),
      })
    },
  }
}
