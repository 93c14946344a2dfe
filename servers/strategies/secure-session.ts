import type { FastifyRequest } from 'fastify'
import type { StrategyDefinition } from './types.ts'

export const SECURE_SESSION_COOKIE = 'session'

/** The part of @fastify/secure-session's request.session we use (kept local: its types clash with @fastify/session's). */
interface EncryptedSession {
  get(key: string): unknown
  set(key: string, value: unknown): void
  delete(): void
  regenerate(ignoredFields?: string[]): void
}
const sessionOf = (request: FastifyRequest) => (request as unknown as { session: EncryptedSession }).session

/**
 * Stateless encrypted cookie session (libsodium secretbox). Logout deletes the cookie in the browser,
 * but a copied cookie keeps working until its embedded timestamp expires: the server holds nothing
 * to revoke. That is measured, not hidden.
 */
export const secureSession: StrategyDefinition = {
  name: 'secure-session',
  description: 'stateless encrypted cookie session (@fastify/secure-session)',
  profiles: ['tuned'],
  needsRedis: false,
  stateful: false,
  carrier: 'cookie',
  readsCookies: true,
  canRevokeAll: false,
  family: 'encrypted-cookie',
  hybrid: 'session data inside an encrypted cookie',
  async setup(scope, ctx) {
    const ttlSec = ctx.options.sessionTtlSec
    // loaded here, not at the top: a server loads only its own strategy's packages (see servers/strategies/index.ts)
    const { default: fastifySecureSession } = await import('@fastify/secure-session')
    await scope.register(fastifySecureSession, {
      key: ctx.keys.secureSessionKey,
      cookieName: SECURE_SESSION_COOKIE,
      expiry: ttlSec,
      cookie: { path: '/', httpOnly: true, sameSite: 'lax', secure: ctx.options.secureCookies, maxAge: ttlSec },
    })
    return {
      async login(request, _reply, user) {
        const session = sessionOf(request)
        session.regenerate() // drop whatever the old cookie carried
        session.set('userId', user.userId)
        session.set('role', user.role)
        const claims = ctx.users.extraClaims(user)
        if (Object.keys(claims).length > 0) session.set('claims', claims)
        return {}
      },
      authenticate(request) {
        const session = sessionOf(request)
        const userId = session.get('userId')
        const role = session.get('role')
        return typeof userId === 'number' && Number.isInteger(userId) && typeof role === 'string' ? { userId, role } : null
      },
      async logout(request) {
        sessionOf(request).delete()
      },
    }
  },
}
