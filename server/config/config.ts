import Type, { type Static, type TSchema } from 'typebox'
import Value from 'typebox/value'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

const oneOf = <const T extends readonly string[]>(values: T, defaultValue: T[number]) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { default: defaultValue },
  )

/**
 * Every environment variable the server reads, with its default. `README.md` documents each one;
 * keep the two in step.
 */
export const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 1234 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  DATABASE_URL: Type.String({ pattern: '^(mysql|sqlite):', default: 'sqlite:./data/collab.db' }),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
  NODE_ENV: Type.String({ default: 'development' }),
  MAX_MESSAGE_BYTES: Type.Integer({ minimum: 1024, maximum: 256 * 1024 * 1024, default: 16 * 1024 * 1024 }),
  STORE_DEBOUNCE_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 2_000 }),
  STORE_MAX_DEBOUNCE_MS: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 10_000 }),
  BROADCAST_FLUSH_MAX_BYTES: Type.Integer({ minimum: 1, maximum: 64 * 1024 * 1024, default: 16_384 }),
  SOCKET_AUTH_TIMEOUT_MS: Type.Integer({ minimum: 1_000, maximum: 120_000, default: 10_000 }),
  MAX_UNAUTHENTICATED_QUEUE_BYTES: Type.Integer({ minimum: 1_024, maximum: 64 * 1024 * 1024, default: 65_536 }),
  MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 50 }),
  MAX_SOCKETS_PER_ADDRESS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1_000 }),
  PRESENCE_MAX_CLIENT_IDS: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
  PRESENCE_MAX_STATE_BYTES: Type.Integer({ minimum: 256, maximum: 1024 * 1024, default: 16_384 }),
  CONTENT_TEXT_ROOT: Type.String({ minLength: 1, maxLength: 255, default: 'default' }),
  VERSION_SESSION_GAP_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 300 }),
  VERSION_RETENTION_DAYS: Type.Optional(Type.Integer({ minimum: 1, maximum: 36_500 })),
  NOTIFICATION_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 36_500, default: 90 }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 }),
  AUTH_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 10, maximum: 86_400, default: 900 }),
  REFRESH_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 31_536_000, default: 2_592_000 }),
  SESSION_CHECK_INTERVAL_SECONDS: Type.Integer({ minimum: 1, maximum: 3_600, default: 30 }),
  CLERK_PUBLISHABLE_KEY: Type.Optional(Type.String({ pattern: '^pk_(test|live)_' })),
  CLERK_SECRET_KEY: Type.Optional(Type.String({ pattern: '^sk_(test|live)_' })),
  CLERK_JWT_KEY: Type.Optional(Type.String({ minLength: 1 })),
  CLERK_AUTHORIZED_PARTIES: Type.Optional(Type.String()),
  CLERK_API_URL: Type.String({ pattern: '^https?://', default: 'https://api.clerk.com' }),
  CLERK_FETCH_PROFILES: oneOf(['true', 'false'] as const, 'true'),
  CORS_ORIGINS: Type.Optional(Type.String()),
  RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 100 }),
  AUTH_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10 }),
  LOGIN_FAILURES_PER_EMAIL: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10 }),
  LOGIN_FAILURE_WINDOW_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 900 }),
  SHARE_LINKS_PER_DOCUMENT_PER_HOUR: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 20 }),
  INVITATIONS_PER_HOUR: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 50 }),
  TRUST_PROXY: Type.String({ pattern: '^(true|false|\\d+|[0-9A-Fa-f.:/]+(,[0-9A-Fa-f.:/]+)*)$', default: 'false' }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 256 * 1024 * 1024, default: 16 * 1024 * 1024 }),
  JSON_BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 256 * 1024 * 1024, default: 16 * 1024 }),
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://' })),
  EMAIL_FROM: Type.String({ minLength: 3, maxLength: 255, default: 'Collaboration <notifications@localhost>' }),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  WEBHOOK_URLS: Type.Optional(Type.String()),
  WEBHOOK_SECRET: Type.Optional(Type.String({ pattern: '^whsec_[A-Za-z0-9+/]{32,}={0,2}$' })),
  OUTBOX_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://[^\\s]+$' })),
  REDIS_KEY_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', default: 'collab' }),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16, maxLength: 1024, pattern: '^\\S+$' })),
})

type Env = Static<typeof EnvSchema>

export type DatabaseTarget = { kind: 'sqlite'; file: string; url: string } | { kind: 'mysql'; url: string }

export type LogLevel = (typeof LOG_LEVELS)[number]

export interface Config {
  readonly port: number
  readonly host: string
  readonly database: DatabaseTarget
  readonly databasePoolSize: number
  readonly dataDir: string
  readonly logLevel: LogLevel
  readonly nodeEnv: string
  /** Largest WebSocket frame accepted; larger frames close that socket with 1009. */
  readonly maxMessageBytes: number
  readonly storeDebounceMs: number
  readonly storeMaxDebounceMs: number
  /** Caps how many bytes of updates are merged into one broadcast (see collab/hocuspocus.ts). */
  readonly broadcastFlushMaxBytes: number
  /** A socket that has authenticated no document this long after connecting is closed (4408). */
  readonly socketAuthTimeoutMs: number
  /** Bytes a socket may send before it authenticates (Hocuspocus queues them); beyond it: 4205. */
  readonly maxUnauthenticatedQueueBytes: number
  /** Sockets per client address not yet authenticated; more are refused at upgrade (429). */
  readonly maxUnauthenticatedSocketsPerAddress: number
  /** Sockets per client address in all; more are refused at upgrade (429). */
  readonly maxSocketsPerAddress: number
  /** Awareness client ids one connection may announce (see collab/presence.extension.ts). */
  readonly presenceMaxClientIds: number
  /** Largest awareness state accepted, in bytes of JSON after the server stamps the identity. */
  readonly presenceMaxStateBytes: number
  /** Root whose plain text `?format=text` returns. */
  readonly contentTextRoot: string
  /** Version history `?group=session`: consecutive rows less than this apart are one editing session. */
  readonly versionSessionGapSeconds: number
  /**
   * Unlabelled history rows older than this many days are merged into one row per hour (see
   * versions/retention.ts); undefined = every row is kept.
   */
  readonly versionRetentionDays: number | undefined
  /** Read inbox items older than this many days are deleted (see notifications/cleanup.ts). */
  readonly notificationRetentionDays: number
  readonly shutdownTimeoutMs: number
  readonly auth: AuthConfig
  /** How often live sockets are checked against the database (account deleted, sign-in revoked). */
  readonly sessionCheckIntervalSeconds: number
  /** Allowed browser origins; empty = CORS off (same-origin only). `*` allows any. */
  readonly corsOrigins: readonly string[]
  readonly rateLimitPerMinute: number
  readonly authRateLimitPerMinute: number
  /** Share links an owner may create on one document per hour. */
  readonly shareLinksPerDocumentPerHour: number
  /** Invitations (by email) one user may send per hour, across documents. */
  readonly invitationsPerHour: number
  /** Largest binary body (Yjs updates, imports); routes that take one opt in to it. */
  readonly bodyLimitBytes: number
  /** Largest JSON body, every other route: JSON bodies here are small (titles, roles, emails). */
  readonly jsonBodyLimitBytes: number
  /**
   * Which proxies' X-Forwarded-For to believe (Fastify `trustProxy`): client IPs drive the
   * anonymous rate limit, so behind a load balancer this must be set or everyone shares its budget.
   */
  readonly trustProxy: boolean | number | readonly string[]
  /** Email over SMTP (digests, invitations); undefined = no email is sent. */
  readonly email: { readonly smtpUrl: string; readonly from: string } | undefined
  /** Where people open the app: links in emails point here (no trailing slash). */
  readonly publicUrl: string
  /** Webhook endpoints; empty = no webhooks. */
  readonly webhookUrls: readonly string[]
  /** Standard Webhooks signing secret (`whsec_<base64>`); set whenever `webhookUrls` is not empty. */
  readonly webhookSecret: string | undefined
  /** Tries of one outbox delivery before it is dead-lettered. */
  readonly outboxMaxAttempts: number
  /** Multi-instance mode when set: instances share documents, presence and control messages. */
  readonly redis: { readonly url: string; readonly keyPrefix: string } | undefined
  /** Bearer token `GET /metrics` requires; undefined = metrics are open (scraped on a private network). */
  readonly metricsToken: string | undefined
}

/** Clerk when its keys are set, else the built-in email/password provider. */
export type AuthConfig =
  | {
      readonly provider: 'clerk'
      readonly publishableKey: string
      readonly secretKey: string
      /** PEM public key: verifies session tokens without a network round trip. */
      readonly jwtKey: string | undefined
      readonly authorizedParties: readonly string[]
      /** Clerk's Backend API: asked (in the background) for the email and name a token lacks. */
      readonly apiUrl: string
      readonly fetchProfiles: boolean
    }
  | {
      readonly provider: 'local'
      /** Signs access tokens; undefined = generate once and keep it in DATA_DIR (not in production). */
      readonly secret: string | undefined
      readonly accessTokenTtlSeconds: number
      readonly refreshTokenTtlSeconds: number
      /** Failed sign-ins one email may collect per window before sign-in answers 429 for it. */
      readonly loginFailuresPerEmail: number
      readonly loginFailureWindowSeconds: number
    }

export class ConfigError extends Error {
  readonly problems: string[]
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/**
 * Parses the environment once into a frozen, typed config. Throws a `ConfigError` naming every bad
 * variable at once, so a misconfigured deployment is fixed in one round trip.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = env[key]
    // An empty variable means "not set": `PORT= npm start` should not fail on the empty string.
    if (value !== undefined && value.trim() !== '') input[key] = value.trim()
  }
  const parsed = Value.Convert(EnvSchema, Value.Default(EnvSchema, { ...input })) as Record<string, unknown>
  // Convert (which changes its argument, hence the copy) truncates "1.5" to 1 for an integer; put
  // such text back so validation names the variable instead of running with a number nobody set.
  for (const [key, schema] of Object.entries(EnvSchema.properties as Record<string, TSchema>)) {
    const raw = input[key]
    if ((schema as { type?: string }).type === 'integer' && raw !== undefined && !/^[+-]?\d+$/.test(raw)) {
      parsed[key] = raw
    }
  }
  const problems = schemaProblems(parsed)
  let database: DatabaseTarget | undefined
  if (!problems.some((p) => p.startsWith('DATABASE_URL'))) {
    const result = parseDatabaseUrl((parsed as Env).DATABASE_URL)
    if (typeof result === 'string') problems.push(`DATABASE_URL: ${result}`)
    else database = result
  }
  if (problems.length > 0 || !database) throw new ConfigError(problems)
  const e = parsed as Env
  if (e.STORE_MAX_DEBOUNCE_MS < e.STORE_DEBOUNCE_MS) {
    throw new ConfigError(['STORE_MAX_DEBOUNCE_MS: must be at least STORE_DEBOUNCE_MS'])
  }
  const auth = authConfig(e)
  if (typeof auth === 'string') throw new ConfigError([auth])
  const webhookUrls = splitList(e.WEBHOOK_URLS)
  const webhookProblem = webhookConfigProblem(webhookUrls, e.WEBHOOK_SECRET)
  if (webhookProblem) throw new ConfigError([webhookProblem])
  return Object.freeze({
    auth,
    sessionCheckIntervalSeconds: e.SESSION_CHECK_INTERVAL_SECONDS,
    corsOrigins: Object.freeze(splitList(e.CORS_ORIGINS)),
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    authRateLimitPerMinute: e.AUTH_RATE_LIMIT_PER_MINUTE,
    shareLinksPerDocumentPerHour: e.SHARE_LINKS_PER_DOCUMENT_PER_HOUR,
    invitationsPerHour: e.INVITATIONS_PER_HOUR,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    jsonBodyLimitBytes: e.JSON_BODY_LIMIT_BYTES,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    port: e.PORT,
    host: e.HOST,
    database: Object.freeze(database),
    databasePoolSize: e.DATABASE_POOL_SIZE,
    dataDir: e.DATA_DIR,
    logLevel: e.LOG_LEVEL,
    nodeEnv: e.NODE_ENV,
    maxMessageBytes: e.MAX_MESSAGE_BYTES,
    storeDebounceMs: e.STORE_DEBOUNCE_MS,
    storeMaxDebounceMs: e.STORE_MAX_DEBOUNCE_MS,
    broadcastFlushMaxBytes: e.BROADCAST_FLUSH_MAX_BYTES,
    socketAuthTimeoutMs: e.SOCKET_AUTH_TIMEOUT_MS,
    maxUnauthenticatedQueueBytes: e.MAX_UNAUTHENTICATED_QUEUE_BYTES,
    maxUnauthenticatedSocketsPerAddress: e.MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS,
    maxSocketsPerAddress: e.MAX_SOCKETS_PER_ADDRESS,
    presenceMaxClientIds: e.PRESENCE_MAX_CLIENT_IDS,
    presenceMaxStateBytes: e.PRESENCE_MAX_STATE_BYTES,
    contentTextRoot: e.CONTENT_TEXT_ROOT,
    versionSessionGapSeconds: e.VERSION_SESSION_GAP_SECONDS,
    versionRetentionDays: e.VERSION_RETENTION_DAYS,
    notificationRetentionDays: e.NOTIFICATION_RETENTION_DAYS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    email: e.SMTP_URL ? Object.freeze({ smtpUrl: e.SMTP_URL, from: e.EMAIL_FROM }) : undefined,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    webhookUrls: Object.freeze(webhookUrls),
    webhookSecret: webhookUrls.length > 0 ? e.WEBHOOK_SECRET : undefined,
    outboxMaxAttempts: e.OUTBOX_MAX_ATTEMPTS,
    redis: e.REDIS_URL ? Object.freeze({ url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX }) : undefined,
    metricsToken: e.METRICS_TOKEN,
  })
}

function webhookConfigProblem(urls: readonly string[], secret: string | undefined): string | undefined {
  for (const url of urls) {
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      // The URL itself is not echoed: endpoints often carry a token in their path or query.
      return 'WEBHOOK_URLS: every entry must be an http(s) URL (comma-separated)'
    }
  }
  if (urls.length > 0 && !secret) {
    return 'WEBHOOK_SECRET: required when WEBHOOK_URLS is set (whsec_ followed by a base64 key, e.g. `echo whsec_$(openssl rand -base64 32)`)'
  }
  return undefined
}

function authConfig(e: Env): AuthConfig | string {
  const clerkKeys = [e.CLERK_PUBLISHABLE_KEY, e.CLERK_SECRET_KEY]
  if (clerkKeys.some(Boolean)) {
    if (!e.CLERK_PUBLISHABLE_KEY || !e.CLERK_SECRET_KEY) {
      return 'CLERK_PUBLISHABLE_KEY and CLERK_SECRET_KEY: set both for Clerk, or neither for built-in auth'
    }
    return Object.freeze({
      provider: 'clerk' as const,
      publishableKey: e.CLERK_PUBLISHABLE_KEY,
      secretKey: e.CLERK_SECRET_KEY,
      // .env files and CI secrets often carry the PEM's newlines as the two characters "\n".
      jwtKey: e.CLERK_JWT_KEY?.replace(/\\n/g, '\n'),
      authorizedParties: Object.freeze(splitList(e.CLERK_AUTHORIZED_PARTIES)),
      apiUrl: e.CLERK_API_URL,
      fetchProfiles: e.CLERK_FETCH_PROFILES === 'true',
    })
  }
  if (!e.AUTH_SECRET && e.NODE_ENV === 'production') {
    return 'AUTH_SECRET: required when NODE_ENV=production (at least 32 characters; e.g. `openssl rand -base64 48`)'
  }
  return Object.freeze({
    provider: 'local' as const,
    secret: e.AUTH_SECRET,
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
    loginFailuresPerEmail: e.LOGIN_FAILURES_PER_EMAIL,
    loginFailureWindowSeconds: e.LOGIN_FAILURE_WINDOW_SECONDS,
  })
}

/** `true`, `false`, a hop count, or a comma-separated list of proxy addresses / CIDR ranges. */
function parseTrustProxy(value: string): boolean | number | readonly string[] {
  if (value === 'true') return true
  if (value === 'false') return false
  if (/^\d+$/.test(value)) return Number(value)
  return Object.freeze(splitList(value))
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

function schemaProblems(value: Record<string, unknown>): string[] {
  // Property by property: one bad variable must not hide the next one.
  const problems: string[] = []
  const required = new Set<string>(EnvSchema.required ?? [])
  for (const [key, schema] of Object.entries(EnvSchema.properties as Record<string, TSchema>)) {
    if (value[key] === undefined && !required.has(key)) continue
    const [error] = Value.Errors(schema, value[key])
    // Never echo secrets into logs.
    const shown = /SECRET|KEY|TOKEN|SMTP_URL|REDIS_URL/.test(key) ? '(hidden)' : `"${value[key]}"`
    if (error) problems.push(`${key}: ${describe(schema, error.message)} (got ${shown})`)
  }
  return problems
}

function describe(schema: TSchema | undefined, fallback: string): string {
  const s = schema as { anyOf?: { const: string }[]; minimum?: number; maximum?: number; type?: string }
  if (s?.anyOf) return `must be one of ${s.anyOf.map((o) => o.const).join(', ')}`
  if (s?.type === 'integer') return `must be an integer from ${s.minimum} to ${s.maximum}`
  return fallback
}

/** `sqlite:<path>` (relative to the working directory, or absolute) or `mysql://user:pass@host:port/db`. */
export function parseDatabaseUrl(url: string): DatabaseTarget | string {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (file === '' || file === '//') return 'sqlite URL needs a file path, e.g. sqlite:./data/collab.db'
    return { kind: 'sqlite', file, url }
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'not a valid URL; expected mysql://user:password@host:3306/database'
  }
  if (!parsed.hostname) return 'mysql URL needs a host, e.g. mysql://user:password@host:3306/database'
  if (parsed.pathname.length <= 1)
    return 'mysql URL needs a database name, e.g. mysql://user:password@host:3306/database'
  return { kind: 'mysql', url }
}
