import { randomBytes } from 'node:crypto'
import { createJwtEngine, principalOf } from './jwt-common.ts'
import type { StrategyDefinition } from './types.ts'

/**
 * `jwt` plus a Redis revocation list: `deny:<jti>` lives until the token would have expired.
 * `ujti:<userId>` lists a user's live `jti:exp` pairs so that revoke-all can deny them all.
 * Redis down → the request fails closed with 503 (a revocable token whose revocation cannot be
 * checked is not accepted). That choice is deliberate and reported by the failover scenario.
 */
export const jwtDenylist: StrategyDefinition = {
  name: 'jwt-denylist',
  description: 'JWT in the Authorization header plus a Redis denylist of revoked token ids (jti)',
  profiles: ['defaults', 'tuned', 'floor'],
  needsRedis: true,
  stateful: true,
  carrier: 'bearer',
  canRevokeAll: true,
  family: 'jwt',
  hybrid: 'JWT plus a revocation list',
  async setup(scope, ctx) {
    const redis = ctx.redis!
    const ttlSec = ctx.options.jwtTtlSec
    const engine = await createJwtEngine(scope, ctx, 'bearer', ttlSec)
    const deny = (jti: string, expSec: number) => {
      const ttlMs = expSec * 1000 - Date.now()
      return ttlMs > 0 ? redis.set(`deny:${jti}`, '1', 'PX', ttlMs) : null
    }
    return {
      async login(_request, _reply, user) {
        const jti = randomBytes(12).toString('base64url')
        const accessToken = await engine.sign({ sub: String(user.userId), role: user.role, jti, ...ctx.users.extraClaims(user) })
        const expSec = Math.floor(Date.now() / 1000) + ttlSec
        await redis.multi().sadd(`ujti:${user.userId}`, `${jti}:${expSec}`).expire(`ujti:${user.userId}`, ttlSec + 1).exec()
        return { accessToken }
      },
      async authenticate(request) {
        const claims = await engine.verify(request)
        if (claims === null || claims.jti === undefined) return null
        return (await redis.exists(`deny:${claims.jti}`)) === 0 ? principalOf(claims) : null
      },
      async logout(request) {
        const claims = await engine.verify(request)
        if (claims?.jti !== undefined) await deny(claims.jti, claims.exp)
      },
      async revokeAll(userId) {
        const entries = await redis.smembers(`ujti:${userId}`)
        const pipeline = redis.pipeline()
        let n = 0
        for (const entry of entries) {
          const [jti, exp] = entry.split(':')
          const ttlMs = Number(exp) * 1000 - Date.now()
          if (jti && ttlMs > 0) {
            pipeline.set(`deny:${jti}`, '1', 'PX', ttlMs)
            n++
          }
        }
        pipeline.del(`ujti:${userId}`)
        await pipeline.exec()
        return n
      },
    }
  },
}
