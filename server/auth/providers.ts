import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config/config.ts'
import type { Db } from '../db/schema.ts'
import type { RedisConnection } from '../redis/connection.ts'
import { createClerkProvider } from './clerk/clerk-provider.ts'
import type { IdentityProvider } from './identity-provider.ts'
import type { SessionEvents } from './session-events.ts'
import { createLocalProvider } from './local/local-provider.ts'

/** Clerk when its keys are configured, else the built-in email/password provider. */
export async function createIdentityProvider(
  config: Config,
  deps: { db: Db; log: FastifyBaseLogger; sessions?: SessionEvents; redis?: RedisConnection },
): Promise<IdentityProvider> {
  if (config.auth.provider === 'clerk') return createClerkProvider(config.auth, { db: deps.db, log: deps.log })
  return createLocalProvider(config.auth, {
    ...deps,
    dataDir: config.dataDir,
    authRateLimitPerMinute: config.authRateLimitPerMinute,
  })
}
