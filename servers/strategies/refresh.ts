import { createHash, randomBytes } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { User } from '../users.ts'
import { readCookie } from './cookies.ts'
import { createJwtEngine, principalOf } from './jwt-common.ts'
import type { StrategyDefinition } from './types.ts'

/**
 * Short-lived access JWT (default 60 s) + opaque refresh token, rotated on every use, with reuse
 * detection that revokes the whole token family (RFC 9700 §4.14.2).
 *
 * Refresh token = `<familyId>.<secret>`. Redis holds `rt:<sha256(token)>` → userId (or `used`),
 * `rf:<familyId>` → userId while the family is alive, and `ufam:<userId>`, a sorted set of the
 * user's families (score: when the family expires, ms). Login prunes expired families from it;
 * logout and reuse detection remove the family they end, so it holds the live families only.
 * The access token is stateless: after logout it keeps working until it expires (≤ 60 s);
 * the refresh token is refused at once.
 *
 * Scripts that derive a key from a value (the user's index from `rf:<familyId>`) are given the
 * client's key prefix (ARGV) and apply it by hand: ioredis prefixes only KEYS.
 */

/** Milliseconds of clock difference allowed between the servers: index entries are pruned this long after their family expired. */
const CLOCK_SKEW_MS = 60_000

/** Ends a family (KEYS[1] = `rf:<fam>`) and removes it from its user's index. ARGV: prefix, familyId. */
const END_FAMILY_LUA = `
local uid = redis.call('GET', KEYS[1])
if not uid then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[1] .. 'ufam:' .. uid, ARGV[2])
return 1
`
const ROTATE = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if v == 'used' then
  local uid = redis.call('GET', KEYS[2])
  if uid then
    redis.call('DEL', KEYS[2])
    redis.call('ZREM', ARGV[2] .. 'ufam:' .. uid, ARGV[3])
  end
  return -1
end
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

/** Logout by refresh token (KEYS[1] = `rt:<hash>`): a genuine token (current or already rotated) ends its whole family (KEYS[2]). */
const END_FAMILY = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
${END_FAMILY_LUA.replaceAll('KEYS[1]', 'KEYS[2]')}`

/**
 * revoke-all in one step: end every family in the user's index (KEYS[1]) and delete the index. A
 * login adds its family in one MULTI, so it lands either before this script (its family ends) or
 * after it (in a fresh index, which the next revoke-all reaches). ARGV[1] = the key prefix.
 */
const REVOKE_ALL = `
local n = 0
for _, fam in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  n = n + redis.call('DEL', ARGV[1] .. 'rf:' .. fam)
end
redis.call('DEL', KEYS[1])
return n
`

/** The strategy's Lua scripts, defined on its Redis client, as functions of the keys they take. */
function refreshScripts(redis: Redis, familyTtlMs: number) {
  // the scripts build the keys they derive (`rf:<family>`) with the client's prefix by hand
  const prefix = redis.options.keyPrefix ?? ''
  redis.defineCommand('authbenchRotate', { numberOfKeys: 3, lua: ROTATE })
  redis.defineCommand('authbenchEndFamilyByToken', { numberOfKeys: 2, lua: END_FAMILY })
  redis.defineCommand('authbenchEndFamily', { numberOfKeys: 1, lua: END_FAMILY_LUA })
  redis.defineCommand('authbenchRevokeFamilies', { numberOfKeys: 1, lua: REVOKE_ALL })
  const run = redis as unknown as Record<string, (...a: unknown[]) => Promise<number>>
  return {
    rotate: (oldKey: string, fam: string, newKey: string) => run.authbenchRotate!(oldKey, `rf:${fam}`, newKey, familyTtlMs, prefix, fam),
    endFamilyByToken: (tokenKey: string, fam: string) => run.authbenchEndFamilyByToken!(tokenKey, `rf:${fam}`, prefix, fam),
    endFamily: (fam: string) => run.authbenchEndFamily!(`rf:${fam}`, prefix, fam),
    revokeFamilies: (indexKey: string) => run.authbenchRevokeFamilies!(indexKey, prefix),
  }
}

export const refresh: StrategyDefinition = {
  name: 'refresh',
  description: 'short-lived access JWT plus a rotating opaque refresh token in Redis, with reuse detection',
  profiles: ['defaults', 'tuned', 'floor'],
  needsRedis: true,
  stateful: true,
  carrier: 'bearer',
  readsCookies: true,
  canRevokeAll: true,
  family: 'jwt',
  hybrid: 'refresh token systems',
  async setup(scope, ctx) {
    const redis = ctx.redis!
    const familyTtlMs = ctx.options.refreshTokenTtlSec * 1000
    const engine = await createJwtEngine(scope, ctx, 'bearer', ctx.options.refreshAccessTtlSec)
    const scripts = refreshScripts(redis, familyTtlMs)
    const indexOf = (userId: number | string) => `ufam:${userId}`

    const signAccess = (user: User, fam: string) =>
      engine.sign({ sub: String(user.userId), role: user.role, fam, ...ctx.users.extraClaims(user) })
    const newRefreshToken = (fam: string) => `${fam}.${randomBytes(32).toString('base64url')}`

    return {
      async login(_request, _reply, user) {
        const fam = randomBytes(12).toString('base64url')
        const tokens = { accessToken: await signAccess(user, fam), refreshToken: newRefreshToken(fam) }
        const nowMs = Date.now()
        const index = indexOf(user.userId)
        await redis.multi()
          .set(`rf:${fam}`, String(user.userId), 'PX', familyTtlMs)
          .set(`rt:${hashToken(tokens.refreshToken)}`, String(user.userId), 'PX', familyTtlMs)
          .zremrangebyscore(index, '-inf', `(${nowMs - CLOCK_SKEW_MS}`)
          .zadd(index, nowMs + familyTtlMs, fam)
          .pexpire(index, familyTtlMs) // as long as the family it adds, the longest-lived of its families
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
        const userId = await scripts.rotate(`rt:${hashToken(token)}`, fam, `rt:${hashToken(refreshToken)}`)
        if (userId <= 0) return null // unknown, expired, revoked, or reused (-1: family now revoked)
        const user = ctx.users.byId(userId) // a rotated access token carries the server's claim set
        return user && { accessToken: await signAccess(user, fam), refreshToken }
      },
      // The family ends whichever credential shows it: the refresh token (whatever the access token's
      // state: an idle client's access token has usually expired by the time it logs out), the access token, or both.
      async logout(request) {
        const token = refreshTokenOf(request)
        if (token !== null) {
          const fam = token.slice(0, 16)
          await scripts.endFamilyByToken(`rt:${hashToken(token)}`, fam)
        }
        const claims = await engine.verify(request)
        if (claims?.fam !== undefined) await scripts.endFamily(claims.fam)
      },
      revokeAll: (userId) => scripts.revokeFamilies(indexOf(userId)),
    }
  },
}
