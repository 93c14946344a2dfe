import Fastify, { type FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { CLAIM_SETS, ConfigError, type ClaimSet, type ServerOptions } from './config.ts'
import { errorHandler, UNAUTHORIZED } from './errors.ts'
import type { KeyMaterial } from './secrets.ts'
import { STRATEGIES } from './strategies/index.ts'
import type { AuthHandlers } from './strategies/types.ts'
import { createUserDirectory } from './users.ts'

export interface AppDeps {
  keys: KeyMaterial
  /** Required when the strategy needs Redis. */
  redis: Redis | null
}

/** Same shape as a /me answer, so that /health differs from /me only by the auth work. */
export const HEALTH_BODY = Object.freeze({ userId: 0, role: 'none' })

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

/**
 * Builds (does not listen) one app: identical routes whatever the strategy.
 * /health sits outside the auth scope, so a request carrying a credential pays nothing for it there.
 */
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

export async function buildApp(options: Readonly<ServerOptions>, deps: AppDeps): Promise<FastifyInstance> {
  checkStrategyOptions(options, deps.redis !== null)
  const strategy = STRATEGIES[options.strategy]

  const app = Fastify({
    logger: options.logLevel === 'silent' ? false : { level: options.logLevel, stream: process.stderr },
  })
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not found' }))

  app.get('/health', { schema: { response: { 200: principalSchema } } }, async () => HEALTH_BODY)

  const users = createUserDirectory(options.userCount, options.claims)
  await app.register(async (scope) => {
    const auth: AuthHandlers = await strategy.setup(scope, { options, keys: deps.keys, users, redis: deps.redis })

    scope.post('/login', { schema: { body: loginBodySchema, response: { 401: errorSchema } } }, async (request, reply) => {
      const { username, password, claims } = request.body as { username: string; password: string; claims?: ClaimSet }
      const found = users.checkPassword(username, password)
      if (found === null) return reply.code(401).send(UNAUTHORIZED)
      const user = claims === undefined ? found : { ...found, claimSet: claims }
      const credential = await auth.login(request, reply, user)
      return { userId: user.userId, role: user.role, ...credential }
    })

    // The hot path every benchmark measures.
    scope.get('/me', { schema: { response: { 200: principalSchema, 401: errorSchema } } }, async (request, reply) => {
      const principal = await auth.authenticate(request, reply)
      return principal ?? reply.code(401).send(UNAUTHORIZED)
    })

    scope.post('/logout', async (request, reply) => {
      await auth.logout(request, reply)
      return reply.code(204).send()
    })

    scope.post('/refresh', async (request, reply) => {
      if (auth.refresh === undefined) return reply.code(404).send({ error: `${strategy.name} issues no refresh tokens` })
      const tokens = await auth.refresh(request, reply)
      return tokens ?? reply.code(401).send(UNAUTHORIZED)
    })

    scope.post('/users/:id/revoke-all', async (request, reply) => {
      const principal = await auth.authenticate(request, reply)
      if (principal === null) return reply.code(401).send(UNAUTHORIZED)
      const userId = Number((request.params as { id: string }).id)
      if (principal.userId !== userId && principal.role !== 'admin') return reply.code(403).send({ error: 'forbidden' })
      if (auth.revokeAll === undefined) {
        return reply.code(501).send({ error: `${strategy.name} cannot revoke issued credentials: they stay valid until they expire` })
      }
      return { revoked: await auth.revokeAll(userId, request, reply) }
    })
  })
  return app
}
