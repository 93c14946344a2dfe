import { createJwtEngine, principalOf } from './jwt-common.ts'
import type { StrategyDefinition } from './types.ts'

export const jwtCookie: StrategyDefinition = {
  name: 'jwt-cookie',
  description: 'the same stateless JWT, carried in an HttpOnly SameSite=Lax cookie',
  profiles: ['defaults', 'tuned', 'floor'],
  needsRedis: false,
  stateful: false,
  carrier: 'cookie',
  readsCookies: true,
  canRevokeAll: false,
  family: 'jwt',
  hybrid: 'JWT inside secure cookies',
  async setup(scope, ctx) {
    const engine = await createJwtEngine(scope, ctx, 'cookie', ctx.options.jwtTtlSec)
    return {
      async login(_request, reply, user) {
        engine.deliver(reply, await engine.sign({ sub: String(user.userId), role: user.role, ...ctx.users.extraClaims(user) }))
        return {}
      },
      async authenticate(request) {
        const claims = await engine.verify(request)
        return claims && principalOf(claims)
      },
      // Clears the cookie in the browser; a copy of the token stays valid until it expires.
      async logout(_request, reply) {
        engine.clear(reply)
      },
    }
  },
}
