import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import { CLAIM_SETS, ConfigError, type ClaimSet, type ServerOptions } from './config.ts'
import { errorHandler, UNAUTHORIZED } from './errors.ts'
import type { KeyMaterial } from './secrets.ts'
import { STRATEGIES } from './strategies/index.ts'
import type { AuthHandlers, StrategyDefinition } from './strategies/types.ts'
import { busyLoop } from './plant.ts'
import { createUserDirectory, type UserDirectory } from './users.ts'

export interface AppDeps {
  keys: KeyMaterial
  /** Required when the strategy needs Redis. */
  redis: Redis | null
}

/** Same shape as a /me answer, so that /health differs from /me only by the auth work. */
export const HEALTH_BODY = Object.freeze({ userId: 0, role: 'none' })

/**
 * The measuring baseline: /health's route on a path exactly as long as `/me`, so that a baseline
 * request with the same headers puts exactly as many bytes on the wire as a /me request.
 * /health stays for people and probes; the harness compares /me with this one.
 */
export const BASELINE_PATH = '/hc'

const principalSchema = {
  type: 'object',
  properties: { userId: { type: 'integer' }, role: { type: 'string' } },
  required: ['userId', 'role'],
} as const
const errorSchema = { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] } as const
const loginBodySchema = {
  type: 'object',
  properties: {
    username: { type: 'string', maxLength: 64 },
    password: { type: 'string', maxLength: 128 },
    // benchmark knob: which claim set the credential carries (default: the server's --claims)
    claims: { type: 'string', enum: [...CLAIM_SETS] },
  },
  required: ['username', 'password'],
} as const

/** `http://host:port/path?q` → `/path?q`; an origin-form target is returned as it is. */
export function originForm(url: string): string {
  if (url.charCodeAt(0) === 0x2f) return url // '/': the usual case, one comparison
  const m = /^https?:\/\/[^/?#]*/i.exec(url)
  if (m === null) return url
  const rest = url.slice(m[0].length)
  return rest.startsWith('/') ? rest : `/${rest}`
}

/**
 * onRequest guard for routes that read a credential from a cookie: a body must be JSON (415
 * otherwise: no `text/plain` or form posts, which a page on another origin can send without a
 * preflight), and a browser's own headers must show a same-origin request (403 otherwise): an
 * `Origin` of this server's own scheme, host and port, and a `Sec-Fetch-Site` of same-origin or none.
 * Non-browser clients send neither `Origin` nor `Sec-Fetch-Site` and pass.
 */
export function refuseCrossSite(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  const type = request.headers['content-type']
  if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type)) {
    void reply.code(415).send({ error: 'this route takes application/json only' })
    return
  }
  const site = request.headers['sec-fetch-site']
  const origin = request.headers.origin
  if ((site !== undefined && site !== 'same-origin' && site !== 'none') || (origin !== undefined && !isSameOrigin(origin, request))) {
    void reply.code(403).send({ error: 'cross-origin request refused' })
    return
  }
  done()
}

/** An origin is scheme + host + port (RFC 6454): `https://host:port` is not the http server at host:port. */
function isSameOrigin(origin: string, request: FastifyRequest): boolean {
  const host = request.host // the Host header (HTTP/2: :authority)
  if (!host) return false
  try {
    return new URL(origin).origin === new URL(`${request.protocol}://${host}`).origin
  } catch {
    return false // 'null' (sandboxed frames, file:) or garbage
  }
}

/** Throws a one-line ConfigError when the strategy cannot run with these options (checked before anything starts). */
export function checkStrategyOptions(options: Readonly<ServerOptions>, hasRedis: boolean): void {
  const strategy = STRATEGIES[options.strategy]
  if (!strategy.profiles.includes(options.profile)) {
    throw new ConfigError(`strategy ${strategy.name} has no '${options.profile}' profile (it has: ${strategy.profiles.join(', ')})`)
  }
  if (strategy.needsRedis && !hasRedis) {
    throw new ConfigError(`strategy ${strategy.name} needs Redis: set REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379)`)
  }
}

/**
 * Builds (does not listen) one app: identical routes whatever the strategy.
 * /health and the baseline sit outside the auth scope, so a request carrying a credential pays nothing for it there.
 */
export async function buildApp(options: Readonly<ServerOptions>, deps: AppDeps): Promise<FastifyInstance> {
  checkStrategyOptions(options, deps.redis !== null)
  const strategy = STRATEGIES[options.strategy]
  // HTTP/2 (h2c) only changes the wire: the routes, hooks and strategies are the same app
  const fastifyOptions = fastifyOptionsFor(options)
  const app = (options.http2 ? Fastify({ ...fastifyOptions, http2: true }) : Fastify(fastifyOptions)) as unknown as FastifyInstance
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not found' }))

  for (const path of ['/health', BASELINE_PATH]) app.get(path, { schema: { response: { 200: principalSchema } } }, async () => HEALTH_BODY)

  const users = createUserDirectory(options.userCount, options.claims)
  await app.register(async (scope) => {
    const auth: AuthHandlers = await strategy.setup(scope, { options, keys: deps.keys, users, redis: deps.redis })
    authRoutes(scope, strategy, auth, users, options.plantMeIterations)
  })
  return app
}

function fastifyOptionsFor(options: Readonly<ServerOptions>) {
  return {
    logger: options.logLevel === 'silent' ? false : { level: options.logLevel, stream: process.stderr },
    // RFC 9112 §3.2.2: a server must accept the absolute form (`POST http://host/logout`); the auth
    // libraries check cookie paths against the URL, so hand them the origin form.
    rewriteUrl: (req: { url?: string }) => originForm(req.url ?? '/'),
    // --secure-cookies means TLS ends at a proxy in front (on loopback): believe its X-Forwarded-Proto.
    trustProxy: options.secureCookies ? ('loopback' as const) : false,
    // coerceTypes off: fastify's default ('array') turned `{"username": ["user5"]}` into "user5"; a
    // credential that is not a string is refused (400), never coerced into one
    ajv: { customOptions: { validateSchema: false, coerceTypes: false, code: { optimize: false } } },
  }
}

/** The routes every strategy serves, in the auth scope: login, /me, logout, refresh, revoke-all. */
function authRoutes(scope: FastifyInstance, strategy: StrategyDefinition, auth: AuthHandlers, users: UserDirectory, planted = 0): void {
  // A browser attaches cookies by itself: state-changing requests of strategies that read a cookie
  // must come from our own origin, as JSON (SameSite=Lax alone lets a sibling subdomain or another
  // port post). refresh reads its refresh token from a cookie on /refresh and /logout.
  const onRequest = strategy.readsCookies ? refuseCrossSite : []

  scope.post('/login', { onRequest, schema: { body: loginBodySchema, response: { 401: errorSchema } } }, async (request, reply) => {
    const { username, password, claims } = request.body as { username: string; password: string; claims?: ClaimSet }
    const found = users.checkPassword(username, password)
    if (found === null) return reply.code(401).send(UNAUTHORIZED)
    const user = claims === undefined ? found : { ...found, claimSet: claims }
    const credential = await auth.login(request, reply, user)
    void reply.header('cache-control', 'no-store') // it may carry tokens
    return { userId: user.userId, role: user.role, ...credential }
  })

  // The hot path every benchmark measures; with --plant-me-iterations (--calibrate's known cost,
  // servers/plant.ts) a handler of its own, so that the plain one carries not even the check
  const me = async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = await auth.authenticate(request, reply)
    return principal ?? reply.code(401).send(UNAUTHORIZED)
  }
  const plantedMe = async (request: FastifyRequest, reply: FastifyReply) => {
    busyLoop(planted)
    return me(request, reply)
  }
  scope.get('/me', { schema: { response: { 200: principalSchema, 401: errorSchema } } }, planted > 0 ? plantedMe : me)

  scope.post('/logout', { onRequest }, async (request, reply) => {
    await auth.logout(request, reply)
    return reply.code(204).send()
  })

  scope.post('/refresh', { onRequest }, async (request, reply) => {
    if (auth.refresh === undefined) return reply.code(404).send({ error: `${strategy.name} issues no refresh tokens` })
    const tokens = await auth.refresh(request, reply)
    if (tokens === null) return reply.code(401).send(UNAUTHORIZED)
    void reply.header('cache-control', 'no-store')
    return tokens
  })

  scope.post('/users/:id/revoke-all', { onRequest }, async (request, reply) => {
    const principal = await auth.authenticate(request, reply)
    if (principal === null) return reply.code(401).send(UNAUTHORIZED)
    const userId = Number((request.params as { id: string }).id)
    if (principal.userId !== userId && principal.role !== 'admin') return reply.code(403).send({ error: 'forbidden' })
    if (auth.revokeAll === undefined) {
      return reply.code(501).send({ error: `${strategy.name} cannot revoke issued credentials: they stay valid until they expire` })
    }
    return { revoked: await auth.revokeAll(userId, request, reply) }
  })
}
