import { createJwtEngine, principalOf } from './jwt-common.ts'
import type { StrategyDefinition } from './types.ts'

export const jwt: StrategyDefinition = {
  name: 'jwt',
  description: 'stateless signed JWT in the Authorization: Bearer header',
  profiles: ['defaults', 'tuned', 'floor'],
  needsRedis: false,
  stateful: false,
  carrier: 'bearer',
  readsCookies: false,
  canRevokeAll: false,
  family: 'jwt',
  hybrid: null,
  async setup(scope, ctx) {
    const engine = await createJwtEngine(scope, ctx, 'bearer', ctx.options.jwtTtlSec)
    return {
      async login(_request, _reply, user) {
        return { accessToken: await engine.sign({ sub: String(user.userId), role: user.role, ...ctx.users.extraClaims(user) }) }
      },
      async authenticate(request) {
        const claims = await engine.verify(request)
        return claims && principalOf(claims)
      },
      // Nothing to invalidate: the token stays valid until it expires. That is what gets measured.
      async logout() {},
    }
  },
}
