/**
 * Security review, round three (issue 20), rows 1 and 7: revoke-all racing concurrent logins of the
 * same user, and per-user indexes that logout must keep at the live count. Real HTTP, real Redis.
 */
import { describe, expect, it } from 'vitest'
import { credentialFrom, type Credential } from '../harness/load/credentials.ts'
import type { StrategyName } from '../servers/config.ts'
import { STRATEGIES, strategyProfiles } from '../servers/strategies/index.ts'
import { me, post, startServer, type TestServer } from './helpers.ts'

const TRIALS = 50
const CONCURRENT_LOGINS = 30
/** Every 10th synthetic user is an admin (servers/users.ts): the one that sends revoke-all. */
const ADMIN = 10

async function login(base: string, i: number): Promise<Credential> {
  const res = await post(base, '/login', {}, { username: `user${i}`, password: `pw-user${i}` })
  expect(res.status).toBe(200)
  return credentialFrom(res.setCookies, res.body ?? {})
}

/** Is a credential still good for anything? /me for sessions and denylisted JWTs; /refresh for refresh tokens. */
async function accepted(s: TestServer, strategy: StrategyName, cred: Credential): Promise<boolean> {
  if (strategy === 'refresh') return (await post(s.url, '/refresh', {}, { refreshToken: cred.refreshToken })).status === 200
  return (await me(s.url, cred.headers)).status === 200
}

const revocable = strategyProfiles().filter(({ strategy }) => STRATEGIES[strategy].canRevokeAll)
const redisBacked = revocable.filter(({ strategy }) => STRATEGIES[strategy].needsRedis)

describe.each(revocable)('$strategy ($profile): revoke-all among concurrent logins of the same user', ({ strategy, profile }) => {
  it(`leaves no credential accepted once every login is answered and revoke-all is sent again (${TRIALS} trials of ${CONCURRENT_LOGINS} logins)`, async () => {
    const s = await startServer(strategy, profile)
    const escaped: string[] = []
    // revoke-all is sent after the first, second, … login of a trial: every place among them in turn
    let admin = await login(s.url, ADMIN)
    for (let trial = 0; trial < TRIALS; trial++) {
      if (strategy === 'refresh') admin = await login(s.url, ADMIN) // its access token lives 60 s
      const userId = 1 + (trial % 9) + 10 * Math.floor(trial / 9) // never an admin: 1-9, 11-19, …
      const logins: Array<Promise<Credential>> = []
      let revoke: Promise<{ status: number }> | null = null
      for (let i = 0; i < CONCURRENT_LOGINS; i++) {
        logins.push(login(s.url, userId))
        if (i === trial % CONCURRENT_LOGINS) revoke = post(s.url, `/users/${userId}/revoke-all`, admin.headers)
      }
      const creds = await Promise.all(logins)
      expect((await revoke!).status).toBe(200)
      // every login has been answered: one more revoke-all must now reach every credential issued
      expect((await post(s.url, `/users/${userId}/revoke-all`, admin.headers)).status).toBe(200)
      const still = await Promise.all(creds.map((c) => accepted(s, strategy, c)))
      const n = still.filter(Boolean).length
      if (n > 0) escaped.push(`trial ${trial}: ${n} of ${CONCURRENT_LOGINS}`)
    }
    expect(escaped, 'credentials still accepted after two revoke-alls').toEqual([])
    expect((await me(s.url, admin.headers)).status).toBe(200) // the admin's own credential was never touched
  }, 120_000)
})

/** The per-user index each Redis-backed strategy keeps for revoke-all, and how to count its entries. */
const INDEX: Partial<Record<StrategyName, { key: (uid: number) => string; count: (s: TestServer, key: string) => Promise<number> }>> = {
  'redis-session': { key: (uid) => `usess:${uid}`, count: (s, key) => s.redis!.scard(key) },
  'jwt-denylist': { key: (uid) => `utok:${uid}`, count: (s, key) => s.redis!.zcard(key) },
  refresh: { key: (uid) => `ufam:${uid}`, count: (s, key) => s.redis!.zcard(key) },
}

describe.each(redisBacked)('$strategy ($profile): the per-user index', ({ strategy, profile }) => {
  it('holds the live credentials only after 150 login/logout cycles, and revoke-all still reaches every live one', async () => {
    const s = await startServer(strategy, profile)
    const index = INDEX[strategy]!
    const uid = 7
    const kept = [await login(s.url, uid), await login(s.url, uid), await login(s.url, uid)]
    for (let i = 0; i < 150; i++) {
      const c = await login(s.url, uid)
      const out = await post(s.url, '/logout', c.headers, strategy === 'refresh' && i % 2 === 0 ? { refreshToken: c.refreshToken } : undefined)
      expect(out.status).toBe(204)
    }
    expect(await index.count(s, index.key(uid))).toBe(kept.length)
    // still live (for refresh: the access token, so that the refresh token is not used up here)
    for (const c of kept) expect((await me(s.url, c.headers)).status).toBe(200)
    const r = await post(s.url, `/users/${uid}/revoke-all`, kept[0]!.headers)
    expect(r).toMatchObject({ status: 200, body: { revoked: kept.length } })
    for (const c of kept) expect(await accepted(s, strategy, c)).toBe(false)
    expect(await index.count(s, index.key(uid))).toBe(0)
  }, 60_000)
})
