import { createHash, randomBytes } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { User } from '../users.ts'
import { readCookie } from './cookies.ts'
import { createJwtEngine, principalOf } from './jwt-common.ts'
import type { StrategyDefinition } from './types.ts'

/**
 * Short-lived access JWT (default 60 s) + opaque refresh token, rotated on every use, with reuse
 * detection that revokes the whole token family (RFC 9700 §4.14.2).
 *
 * Refresh token = `<familyId>.<secret>`. Redis holds `rt:<sha256(token)>` → userId (or `used`),
 * `rf:<familyId>` → userId while the family is alive, `ruf:<userId>` → the user's families.
 * The access token is stateless: after logout it keeps working until it expires (≤ 60 s);
 * the refresh token is refused at once.
 */
const ROTATE = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if v == 'used' then redis.call('DEL', KEYS[2]) return -1 end
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('SET', KEYS[1], 'used', 'KEEPTTL')
redis.call('SET', KEYS[3], v, 'PX', ARGV[1])
return tonumber(v)
`

const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url')

/** Where a client may present its refresh token: the JSON body, or a cookie of this name. */
export const REFRESH_COOKIE = 'refreshToken'
const REFRESH_TOKEN_SHAPE = /^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/

function refreshTokenOf(request: FastifyRequest): string | null {
  const body = request.body as { refreshToken?: unknown } | undefined
  const t = body?.refreshToken ?? readCookie(request.headers.cookie, REFRESH_COOKIE)
  return typeof t === 'string' && REFRESH_TOKEN_SHAPE.test(t) ? t : null
}

/** Logout by refresh token: a genuine token (current or already rotated) ends its whole family. */
const END_FAMILY = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('DEL', KEYS[2])
`

export const refresh: StrategyDefinition = {
  name: 'refresh',
  description: 'short-lived access JWT plus a rotating opaque refresh token in Redis, with reuse detection',
  profiles: ['defaults', 'tuned', 'floor'],
  needsRedis: true,
  stateful: true,
  carrier: 'bearer',
  canRevokeAll: true,
  family: 'jwt',
  hybrid: 'refresh token systems',
  async setup(scope, ctx) {
    const redis = ctx.redis!
    const familyTtlMs = ctx.options.refreshTokenTtlSec * 1000
    const engine = await createJwtEngine(scope, ctx, 'bearer', ctx.options.refreshAccessTtlSec)
    redis.defineCommand('authbenchRotate', { numberOfKeys: 3, lua: ROTATE })
    redis.defineCommand('authbenchEndFamily', { numberOfKeys: 2, lua: END_FAMILY })
    const scripts = redis as unknown as Record<string, (...a: unknown[]) => Promise<number>>
    const rotate = (oldKey: string, famKey: string, newKey: string): Promise<number> =>
      scripts.authbenchRotate!(oldKey, famKey, newKey, familyTtlMs)

    const signAccess = (user: User, fam: string) =>
      engine.sign({ sub: String(user.userId), role: user.role, fam, ...ctx.users.extraClaims(user) })
    const newRefreshToken = (fam: string) => `${fam}.${randomBytes(32).toString('base64url')}`

    return {
      async login(_request, _reply, user) {
        const fam = randomBytes(12).toString('base64url')
        const tokens = { accessToken: await signAccess(user, fam), refreshToken: newRefreshToken(fam) }
        await redis.multi()
          .set(`rf:${fam}`, String(user.userId), 'PX', familyTtlMs)
          .set(`rt:${hashToken(tokens.refreshToken)}`, String(user.userId), 'PX', familyTtlMs)
          .sadd(`ruf:${user.userId}`, fam)
          .pexpire(`ruf:${user.userId}`, familyTtlMs)
          .exec()
        return tokens
      },
      async authenticate(request) {
        const claims = await engine.verify(request)
        return claims && principalOf(claims)
      },
      async refresh(request) {
        const token = refreshTokenOf(request)
        if (token === null) return null
        const fam = token.slice(0, 16)
        const refreshToken = newRefreshToken(fam)
        const userId = await rotate(`rt:${hashToken(token)}`, `rf:${fam}`, `rt:${hashToken(refreshToken)}`)
        if (userId <= 0) return null // unknown, expired, revoked, or reused (-1: family now revoked)
        const user = ctx.users.byId(userId) // a rotated access token carries the server's claim set
        return user && { accessToken: await signAccess(user, fam), refreshToken }
      },
      // The family ends whichever credential shows it: the refresh token (whatever the access token's
      // state: an idle client's access token has usually expired by the time it logs out), the access token, or both.
      async logout(request) {
        const token = refreshTokenOf(request)
        if (token !== null) await scripts.authbenchEndFamily!(`rt:${hashToken(token)}`, `rf:${token.slice(0, 16)}`)
        const claims = await engine.verify(request)
        if (claims?.fam !== undefined) await redis.del(`rf:${claims.fam}`)
      },
      async revokeAll(userId) {
        const families = await redis.smembers(`ruf:${userId}`)
        if (families.length === 0) return 0
        const n = await redis.del(...families.map((f) => `rf:${f}`))
        await redis.del(`ruf:${userId}`)
        return n
      },
    }
  },
}
