import { randomBytes } from 'node:crypto'
import { createJwtEngine, principalOf } from './jwt-common.ts'
import type { StrategyDefinition } from './types.ts'

/**
 * Seconds of clock difference allowed between servers: login prunes index entries only this long
 * after their token's `exp` (a server whose clock lags still accepts a token that another server's
 * clock already sees expired).
 */
const CLOCK_SKEW_SEC = 60

/**
 * revoke-all in one step: deny every token of the user's index that has not expired and delete the
 * index. Logins add to the index in one MULTI, so each login lands either before this script (its
 * token is denied) or after it (in a fresh index, which the next revoke-all reaches): no login can
 * slip between reading the index and deleting it. KEYS[1] = the index; ARGV[1] = the key prefix
 * (deny keys are derived here, so the client's prefix is applied by hand), ARGV[2] = the server's
 * clock in ms (a denial lives until the token's exp by the clock that verifies it, as logout's
 * does); returns how many tokens were still valid.
 */
const REVOKE_ALL = `
local nowMs = tonumber(ARGV[2])
local entries = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. math.floor(nowMs / 1000), '+inf', 'WITHSCORES')
local n = 0
for i = 1, #entries, 2 do
  local ttlMs = tonumber(entries[i + 1]) * 1000 - nowMs
  if ttlMs > 0 then
    redis.call('SET', ARGV[1] .. 'deny:' .. entries[i], '1', 'PX', ttlMs)
    n = n + 1
  end
end
redis.call('DEL', KEYS[1])
return n
`

/**
 * `jwt` plus a Redis revocation list: `deny:<jti>` lives until the token would have expired.
 * `utok:<userId>` is a sorted set of the user's tokens (member jti, score exp) so that revoke-all can
 * deny them all; login prunes expired entries and logout removes its own, so it holds the live
 * tokens only. /me reads one key, `deny:<jti>`: revoke-all's guarantee costs it nothing.
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
  readsCookies: false,
  canRevokeAll: true,
  family: 'jwt',
  hybrid: 'JWT plus a revocation list',
  async setup(scope, ctx) {
    const redis = ctx.redis!
    const ttlSec = ctx.options.jwtTtlSec
    const engine = await createJwtEngine(scope, ctx, 'bearer', ttlSec)
    redis.defineCommand('authbenchRevokeTokens', { numberOfKeys: 1, lua: REVOKE_ALL })
    const revokeTokens = (redis as unknown as { authbenchRevokeTokens(index: string, prefix: string, nowMs: number): Promise<number> }).authbenchRevokeTokens.bind(redis)
    const prefix = redis.options.keyPrefix ?? ''
    const indexOf = (userId: number | string) => `utok:${userId}`
    return {
      async login(_request, _reply, user) {
        const jti = randomBytes(12).toString('base64url')
        const accessToken = await engine.sign({ sub: String(user.userId), role: user.role, jti, ...ctx.users.extraClaims(user) })
        const nowSec = Math.floor(Date.now() / 1000)
        const index = indexOf(user.userId)
        await redis.multi()
          .zremrangebyscore(index, '-inf', `(${nowSec - CLOCK_SKEW_SEC}`)
          .zadd(index, nowSec + ttlSec, jti)
          .expire(index, ttlSec + 1) // outlives every token it lists
          .exec()
        return { accessToken }
      },
      async authenticate(request) {
        const claims = await engine.verify(request)
        if (claims === null || claims.jti === undefined) return null
        return (await redis.exists(`deny:${claims.jti}`)) === 0 ? principalOf(claims) : null
      },
      async logout(request) {
        const claims = await engine.verify(request)
        if (claims?.jti === undefined) return
        const ttlMs = claims.exp * 1000 - Date.now()
        const tx = redis.multi().zrem(indexOf(claims.sub), claims.jti)
        if (ttlMs > 0) tx.set(`deny:${claims.jti}`, '1', 'PX', ttlMs)
        await tx.exec()
      },
      revokeAll: (userId) => revokeTokens(indexOf(userId), prefix, Date.now()),
    }
  },
}
