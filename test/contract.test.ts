import { describe, expect, it } from 'vitest'
import { credentialFrom } from '../harness/load/credentials.ts'
import { BASELINE_PATH, HEALTH_BODY } from '../servers/app.ts'
import type { StrategyName } from '../servers/config.ts'
import { STRATEGIES, strategyProfiles } from '../servers/strategies/index.ts'
import { me, post, request, startServer } from './helpers.ts'

/** After logout, is a replayed copy of the credential refused on /me? (true = the server can refuse it) */
const REFUSED_AFTER_LOGOUT: Record<StrategyName, boolean> = {
  'memory-session': true,
  'redis-session': true,
  jwt: false, // valid until it expires
  'jwt-cookie': false, // the cookie is cleared in the browser; a copy still works until expiry
  'jwt-denylist': true,
  refresh: false, // the access token lives on (≤ 60 s); the refresh token is refused at once
  'secure-session': false, // stateless encrypted cookie: nothing server-side to delete
}
const CAN_REVOKE_ALL: Record<StrategyName, boolean> = {
  'memory-session': true,
  'redis-session': true,
  jwt: false,
  'jwt-cookie': false,
  'jwt-denylist': true,
  refresh: true,
  'secure-session': false,
}

async function login(base: string, i: number, extraHeaders: Record<string, string> = {}) {
  const res = await post(base, '/login', extraHeaders, { username: `user${i}`, password: `pw-user${i}` })
  expect(res.status).toBe(200)
  return { res, cred: credentialFrom(res.setCookies, res.body ?? {}) }
}

describe.each(strategyProfiles())('$strategy ($profile) honours the contract', ({ strategy, profile }) => {
  const def = STRATEGIES[strategy]

  it('logs in, answers /me, logs out, and treats the old credential as the strategy can', async () => {
    const s = await startServer(strategy, profile)
    const { res, cred } = await login(s.url, 7)
    expect(res.body).toMatchObject({ userId: 7, role: 'user' })
    if (def.carrier === 'cookie') {
      expect(res.setCookies.length).toBeGreaterThan(0)
      for (const c of res.setCookies) {
        expect(c).toMatch(/;\s*HttpOnly/i)
        expect(c).toMatch(/;\s*SameSite=Lax/i)
        expect(c).not.toMatch(/;\s*Secure/i)
      }
      expect(res.body).not.toHaveProperty('accessToken')
    } else {
      expect(typeof res.body?.accessToken).toBe('string')
      expect(res.setCookies).toEqual([])
    }

    expect(await me(s.url, cred.headers)).toMatchObject({ status: 200, body: { userId: 7, role: 'user' } })
    // the baseline and /health sit outside the auth scope: the credential is ignored there (no session
    // re-saved, no cookie re-sent, as the defaults profiles do on /me), and the answer is the fixed one
    for (const path of [BASELINE_PATH, '/health']) {
      expect(await request(`${s.url}${path}`, { headers: cred.headers }), path).toEqual({ status: 200, body: HEALTH_BODY, setCookies: [], contentType: expect.stringMatching(/application\/json/) })
    }
    const admin = await login(s.url, 10)
    expect((await me(s.url, admin.cred.headers)).body).toEqual({ userId: 10, role: 'admin' })

    const out = await post(s.url, '/logout', cred.headers)
    expect(out.status).toBe(204)
    if (def.carrier === 'cookie') {
      expect(out.setCookies.some((c) => /max-age=0|expires=thu, 01 jan 1970/i.test(c))).toBe(true)
    }
    const replay = await me(s.url, cred.headers)
    if (REFUSED_AFTER_LOGOUT[strategy]) {
      expect(replay).toMatchObject({ status: 401, body: { error: 'unauthorized' } })
    } else {
      expect(replay).toMatchObject({ status: 200, body: { userId: 7 } })
    }
    // the other user's login is untouched
    expect((await me(s.url, admin.cred.headers)).status).toBe(200)
  })

  it('refuses wrong passwords, unknown users and anonymous requests with a JSON 401', async () => {
    const s = await startServer(strategy, profile)
    for (const body of [{ username: 'user7', password: 'wrong' }, { username: 'user999999', password: 'pw-user999999' }, { username: 'nobody', password: 'x' }]) {
      const r = await post(s.url, '/login', {}, body)
      expect(r).toMatchObject({ status: 401, body: { error: 'unauthorized' } })
      // no credential is issued (the defaults profile may hand out an anonymous session cookie)
      const anon = credentialFrom(r.setCookies, {})
      expect((await me(s.url, anon.headers)).status).toBe(401)
      const allowed = profile === 'defaults' ? /^sessionId=/ : /^$/ // only @fastify/session's anonymous session, only in defaults
      expect(r.setCookies.filter((c) => !allowed.test(c))).toEqual([])
    }
    expect((await post(s.url, '/login', {}, { username: 'user7' })).status).toBe(400)
    expect(await me(s.url, {})).toMatchObject({ status: 401, body: { error: 'unauthorized' } })
    for (const path of ['/health', BASELINE_PATH]) {
      expect(await request(`${s.url}${path}`), path).toMatchObject({ status: 200, body: { userId: 0, role: 'none' } })
    }
  })

  const isSession = strategy.endsWith('session')
  it(isSession ? 'issues a fresh session at every login (no session fixation)' : 'logs the same user in twice', async () => {
    const s = await startServer(strategy, profile)
    const first = await login(s.url, 7)
    const second = await login(s.url, 7, first.cred.headers)
    if (isSession) {
      const name = Object.keys(second.cred.cookies)[0]!
      expect(second.cred.cookies[name]).not.toBe(first.cred.cookies[name])
    }
    // (two plain JWTs for one user signed in the same second are identical: that is not fixation)
    expect((await me(s.url, second.cred.headers)).status).toBe(200)
    if (def.stateful && isSession) {
      // the id presented at login was replaced, and the old one no longer authenticates
      expect((await me(s.url, first.cred.headers)).status).toBe(401)
    }
  })

  it(CAN_REVOKE_ALL[strategy] ? 'revokes every credential of one user' : 'says plainly that it cannot revoke issued credentials', async () => {
    const s = await startServer(strategy, profile)
    const creds = [await login(s.url, 7), await login(s.url, 7), await login(s.url, 7)].map((l) => l.cred)
    const other = (await login(s.url, 8)).cred
    expect((await post(s.url, '/users/7/revoke-all', other.headers)).status).toBe(403)
    expect((await post(s.url, '/users/7/revoke-all', {})).status).toBe(401)
    const r = await post(s.url, '/users/7/revoke-all', creds[0]!.headers)
    if (!CAN_REVOKE_ALL[strategy]) {
      expect(r.status).toBe(501)
      expect(typeof r.body?.error).toBe('string')
      for (const c of creds) expect((await me(s.url, c.headers)).status).toBe(200)
      return
    }
    expect(r).toMatchObject({ status: 200, body: { revoked: 3 } })
    for (const c of creds) {
      if (strategy === 'refresh') {
        expect((await post(s.url, '/refresh', {}, { refreshToken: c.refreshToken })).status).toBe(401)
      } else {
        expect((await me(s.url, c.headers)).status).toBe(401)
      }
    }
    expect((await me(s.url, other.headers)).status).toBe(200)
  })

  if (strategy === 'refresh') {
    it('rotates refresh tokens and revokes the whole family when an old one is reused', async () => {
      const s = await startServer(strategy, profile)
      const { cred } = await login(s.url, 7)
      const r1 = await post(s.url, '/refresh', {}, { refreshToken: cred.refreshToken })
      expect(r1.status).toBe(200)
      const t1 = r1.body as { accessToken: string; refreshToken: string }
      expect(t1.refreshToken).not.toBe(cred.refreshToken)
      expect((await me(s.url, { authorization: `Bearer ${t1.accessToken}` })).body).toEqual({ userId: 7, role: 'user' })
      const r2 = await post(s.url, '/refresh', {}, { refreshToken: t1.refreshToken })
      expect(r2.status).toBe(200)
      // reuse of the first token: refused, and the family (including the newest token) is revoked
      expect((await post(s.url, '/refresh', {}, { refreshToken: cred.refreshToken })).status).toBe(401)
      const newest = (r2.body as { refreshToken: string }).refreshToken
      expect((await post(s.url, '/refresh', {}, { refreshToken: newest })).status).toBe(401)
      // garbage and missing tokens are a 401 too
      expect((await post(s.url, '/refresh', {}, { refreshToken: 'x' })).status).toBe(401)
      expect((await post(s.url, '/refresh', {}, {})).status).toBe(401)
    })

    it('refuses the refresh token at once after logout', async () => {
      const s = await startServer(strategy, profile)
      const { cred } = await login(s.url, 7)
      expect((await post(s.url, '/logout', cred.headers)).status).toBe(204)
      expect((await post(s.url, '/refresh', {}, { refreshToken: cred.refreshToken })).status).toBe(401)
    })
  } else {
    it('has no refresh endpoint to speak of', async () => {
      const s = await startServer(strategy, profile)
      const r = await post(s.url, '/refresh', {}, { refreshToken: 'x' })
      expect(r.status).toBe(404)
      expect(typeof r.body?.error).toBe('string')
    })
  }

  if (strategy.endsWith('session') && strategy !== 'secure-session') {
    it('forgets a session once it expires', async () => {
      // 2 s, not 1: on a busy machine login and the first /me can be a second apart, and the 200 below would flake
      const s = await startServer(strategy, profile, { sessionTtlSec: 2 })
      const { cred } = await login(s.url, 7)
      expect((await me(s.url, cred.headers)).status).toBe(200)
      await new Promise((r) => setTimeout(r, 2300)) // > TTL after the last use (the defaults profile rolls the expiry on /me)
      expect((await me(s.url, cred.headers)).status).toBe(401)
    })
  }
})

describe.each(['RS256', 'ES256', 'EdDSA'] as const)('jwt with %s', (alg) => {
  it.each(['tuned', 'floor'] as const)('signs and verifies with the %s profile, and pins the algorithm', async (profile) => {
    const s = await startServer('jwt', profile, { alg })
    const { cred } = await login(s.url, 3)
    const header = JSON.parse(Buffer.from(cred.accessToken!.split('.')[0]!, 'base64url').toString())
    expect(header.alg).toBe(alg)
    expect((await me(s.url, cred.headers)).body).toEqual({ userId: 3, role: 'user' })
  })
})

describe('claim sets', () => {
  it.each(['typical', 'large'] as const)('carries the %s claim set in the token, so tokens grow', async (claims) => {
    const small = await startServer('jwt', 'tuned')
    const big = await startServer('jwt', 'tuned', { claims })
    const a = (await post(small.url, '/login', {}, { username: 'user3', password: 'pw-user3' })).body!.accessToken as string
    const b = (await post(big.url, '/login', {}, { username: 'user3', password: 'pw-user3' })).body!.accessToken as string
    expect(b.length).toBeGreaterThan(a.length + (claims === 'large' ? 1000 : 100))
    expect((await me(big.url, { authorization: `Bearer ${b}` })).status).toBe(200)
  })
})

describe('the claims knob at login', () => {
  it.each(['jwt', 'refresh', 'secure-session'] as const)('%s carries the claim set asked for at login', async (strategy) => {
    const s = await startServer(strategy, 'tuned')
    const small = await post(s.url, '/login', {}, { username: 'user3', password: 'pw-user3' })
    const large = await post(s.url, '/login', {}, { username: 'user3', password: 'pw-user3', claims: 'large' })
    const size = (r: typeof small) => JSON.stringify(r.body).length + r.setCookies.join('').length
    expect(size(large)).toBeGreaterThan(size(small) + 1000)
    expect((await post(s.url, '/login', {}, { username: 'user3', password: 'pw-user3', claims: 'huge' })).status).toBe(400)
  })
})
