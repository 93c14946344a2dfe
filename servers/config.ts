/**
 * Every server default in one place. Units live in the names.
 * Options objects are never mutated: `resolveServerOptions` returns a new frozen object.
 */

export const STRATEGY_NAMES = [
  'memory-session',
  'redis-session',
  'jwt',
  'jwt-cookie',
  'jwt-denylist',
  'refresh',
  'secure-session',
] as const
export type StrategyName = (typeof STRATEGY_NAMES)[number]

/** `defaults`: the library as most apps deploy it; `tuned`: as a careful team ships it; `floor`: the mechanism on its primitives. */
export const PROFILES = ['defaults', 'tuned', 'floor'] as const
export type Profile = (typeof PROFILES)[number]

export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256', 'EdDSA'] as const
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number]

/** Claim-set sizes: `small` = {sub, role}; `typical` ≈ 8 claims; `large` adds 50 permissions. */
export const CLAIM_SETS = ['small', 'typical', 'large'] as const
export type ClaimSet = (typeof CLAIM_SETS)[number]

export interface ServerOptions {
  /** Which auth strategy the app mounts. */
  strategy: StrategyName
  /** Library profile; default `tuned`. */
  profile: Profile
  /** JWT signing algorithm for the JWT family; default HS256. */
  alg: JwtAlgorithm
  /** Claims carried by every credential (token or session data); default `small`. */
  claims: ClaimSet
  /** Address to bind; default 127.0.0.1 (loopback only). */
  host: string
  /** TCP port; 0 picks a free one. Default 3000. */
  port: number
  /** Number of synthetic users user1…userN; default 10 000. */
  userCount: number
  /** Session lifetime (server-side sessions and secure-session); default 3600 s. */
  sessionTtlSec: number
  /** Access-token lifetime for `jwt`, `jwt-cookie`, `jwt-denylist`; default 900 s. */
  jwtTtlSec: number
  /** Access-token lifetime for `refresh`; default 60 s. */
  refreshAccessTtlSec: number
  /** Refresh-token family lifetime for `refresh`; default 7 days. */
  refreshTokenTtlSec: number
  /** Redis connection string for Redis-backed strategies; null = none. */
  redisUrl: string | null
  /** Prefix for every Redis key this instance writes (tests use one per app). Default `ab:`. */
  redisKeyPrefix: string
  /** Send the Secure attribute on cookies (only behind TLS). Default false. */
  secureCookies: boolean
  /** Serve HTTP/2 over cleartext (h2c, prior knowledge) instead of HTTP/1.1: for measuring header compression (HPACK). Default false. */
  http2: boolean
  /** Log level for the server's own log (stderr). Default `warn`. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent'
  /** Port of the stats endpoint (servers/stats-endpoint.ts), never the service port; 0 picks a free one; null = none (default). */
  statsPort: number | null
  /** Address the stats endpoint binds; default 127.0.0.1 (loopback only). */
  statsHost: string
  /** Rounds of a busy loop added to every GET /me (servers/plant.ts): a known cost for `--calibrate`. Default 0: none. */
  plantMeIterations: number
}

export const SERVER_DEFAULTS: Readonly<Omit<ServerOptions, 'strategy'>> = Object.freeze({
  profile: 'tuned',
  alg: 'HS256',
  claims: 'small',
  host: '127.0.0.1',
  port: 3000,
  userCount: 10_000,
  sessionTtlSec: 3600,
  jwtTtlSec: 900,
  refreshAccessTtlSec: 60,
  refreshTokenTtlSec: 7 * 24 * 3600,
  redisUrl: null,
  redisKeyPrefix: 'ab:',
  secureCookies: false,
  http2: false,
  logLevel: 'warn',
  statsPort: null,
  statsHost: '127.0.0.1',
  plantMeIterations: 0,
})

export class ConfigError extends Error {
  override name = 'ConfigError'
}

function oneOf<T extends string>(what: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T
  throw new ConfigError(`unknown ${what} '${String(value)}' (expected one of: ${allowed.join(', ')})`)
}

function positiveInt(what: string, value: unknown, min = 1): number {
  const n = typeof value === 'string' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min) {
    throw new ConfigError(`${what} must be an integer ≥ ${min}, got '${String(value)}'`)
  }
  return n
}

/** Validates partial options and returns a complete, frozen copy. Throws ConfigError with one clear line. */
export function resolveServerOptions(input: Partial<ServerOptions> & { strategy: string }): Readonly<ServerOptions> {
  const merged = { ...SERVER_DEFAULTS, ...stripUndefined(input) }
  const port = positiveInt('port', merged.port, 0)
  if (port > 65535) throw new ConfigError(`port must be ≤ 65535, got ${port}`)
  const statsPort = merged.statsPort === null ? null : positiveInt('stats port', merged.statsPort, 0)
  if (statsPort !== null && statsPort > 65535) throw new ConfigError(`stats port must be ≤ 65535, got ${statsPort}`)
  if (statsPort !== null && statsPort !== 0 && statsPort === port) throw new ConfigError(`--stats-port must differ from --port (${port}): the stats are never served on the port that serves /me`)
  return Object.freeze({
    ...merged,
    strategy: oneOf('strategy', merged.strategy, STRATEGY_NAMES),
    profile: oneOf('profile', merged.profile, PROFILES),
    alg: oneOf('--alg', merged.alg, JWT_ALGORITHMS),
    claims: oneOf('claim set', merged.claims, CLAIM_SETS),
    port,
    statsPort,
    userCount: positiveInt('user count', merged.userCount),
    sessionTtlSec: positiveInt('sessionTtlSec', merged.sessionTtlSec),
    jwtTtlSec: positiveInt('jwtTtlSec', merged.jwtTtlSec),
    refreshAccessTtlSec: positiveInt('refreshAccessTtlSec', merged.refreshAccessTtlSec),
    refreshTokenTtlSec: positiveInt('refreshTokenTtlSec', merged.refreshTokenTtlSec),
    plantMeIterations: positiveInt('--plant-me-iterations', merged.plantMeIterations, 0),
  })
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
