/**
 * Security review findings (issue 7), each as a test that failed on the code before the fix:
 * logout and revoke-all racing requests in flight, rolling sessions outliving revoke-all, refresh
 * logout with an expired access token, absolute-form request targets, secrets in output, short HS256
 * keys, and tokens crossing between JWT strategies. Cross-site requests: test/cross-site.test.ts.
 */
import { spawnSync } from 'node:child_process'
import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { credentialFrom, type Credential } from '../harness/load/credentials.ts'
import { SERVER_ENTRY } from '../harness/processes/instances.ts'
import type { Profile, StrategyName } from '../servers/config.ts'
import { STRATEGIES, strategyProfiles } from '../servers/strategies/index.ts'
import { me, post, startServer } from './helpers.ts'

const TRIALS = 50
/** Requests with the same credential in flight on each side of the logout / revoke-all. */
const IN_FLIGHT = 12

async function login(base: string, i: number): Promise<Credential> {
  const res = await post(base, '/login', {}, { username: `user${i}`, password: `pw-user${i}` })
  expect(res.status).toBe(200)
  return credentialFrom(res.setCookies, res.body ?? {})
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Strategies whose logout and revoke-all make a copied credential useless on /me. */
const refusesOnMe = (s: StrategyName) => STRATEGIES[s].stateful && s !== 'refresh'

describe.each(strategyProfiles().filter(({ strategy }) => refusesOnMe(strategy)))('$strategy ($profile) under requests in flight', ({ strategy, profile }) => {
  it.each(['logout', 'revoke-all'] as const)(`never lets a %s be undone by a request that loaded the session earlier (${TRIALS} trials)`, async (action) => {
    const s = await startServer(strategy, profile)
    const revived: number[] = []
    for (let trial = 0; trial < TRIALS; trial++) {
      const userId = 1 + (trial % 150)
      const cred = await login(s.url, userId)
      const flood = () => Array.from({ length: IN_FLIGHT }, () => me(s.url, cred.headers))
      const before = flood()
      const act = action === 'logout' ? post(s.url, '/logout', cred.headers) : post(s.url, `/users/${userId}/revoke-all`, cred.headers)
      const after = flood()
      const [done] = await Promise.all([act, ...before, ...after])
      expect(done.status).toBe(action === 'logout' ? 204 : 200)
      // every response has arrived, and the library saves a rolling session before it responds
      if ((await me(s.url, cred.headers)).status !== 401) revived.push(trial)
    }
    expect(revived, `trials in which the credential worked again after ${action}`).toEqual([])
  })
})

describe('refresh under requests in flight', () => {
  it.each(['defaults', 'tuned', 'floor'] as const)(`(%s) refuses every refresh token of a family logged out while it rotates (${TRIALS} trials)`, async (profile) => {
    const s = await startServer('refresh', profile)
    const survivors: number[] = []
    for (let trial = 0; trial < TRIALS; trial++) {
      const cred = await login(s.url, 1 + (trial % 150))
      const [rotated, out] = await Promise.all([
        post(s.url, '/refresh', {}, { refreshToken: cred.refreshToken }),
        post(s.url, '/logout', cred.headers),
      ])
      expect(out.status).toBe(204)
      const tokens = [cred.refreshToken, rotated.status === 200 ? (rotated.body as { refreshToken: string }).refreshToken : null]
      for (const t of tokens) if (t && (await post(s.url, '/refresh', {}, { refreshToken: t })).status !== 401) survivors.push(trial)
    }
    expect(survivors).toEqual([])
  })
})

describe('rolling sessions (defaults profile)', () => {
  it.each(['memory-session', 'redis-session'] as const)('%s: revoke-all finds a session kept alive for longer than one TTL', async (strategy) => {
    const s = await startServer(strategy, 'defaults', { sessionTtlSec: 3 })
    const cred = await login(s.url, 7)
    const admin = await login(s.url, 10)
    const until = Date.now() + 4500 // 1.5 TTLs of use: the session lives only because it rolls
    while (Date.now() < until) {
      expect((await me(s.url, cred.headers)).status).toBe(200)
      expect((await me(s.url, admin.headers)).status).toBe(200)
      await sleep(300)
    }
    const r = await post(s.url, '/users/7/revoke-all', admin.headers)
    expect(r).toMatchObject({ status: 200, body: { revoked: 1 } })
    expect((await me(s.url, cred.headers)).status).toBe(401)
  })
})

describe('refresh logout', () => {
  it('revokes the family from the refresh token when the access token has expired (body and cookie)', async () => {
    const servers = await Promise.all((['defaults', 'tuned', 'floor'] as const).map((p) => startServer('refresh', p, { refreshAccessTtlSec: 1 })))
    const creds = await Promise.all(servers.flatMap((s) => [login(s.url, 7), login(s.url, 8)]))
    await sleep(2100) // exp has 1 s granularity: 2 s later every access token has expired
    for (const [k, s] of servers.entries()) {
      const [viaBody, viaCookie] = [creds[2 * k]!, creds[2 * k + 1]!]
      expect((await me(s.url, viaBody.headers)).status).toBe(401)
      expect((await post(s.url, '/logout', viaBody.headers, { refreshToken: viaBody.refreshToken })).status).toBe(204)
      expect((await post(s.url, '/logout', { ...viaCookie.headers, cookie: `refreshToken=${viaCookie.refreshToken}` })).status).toBe(204)
      for (const c of [viaBody, viaCookie]) {
        expect((await post(s.url, '/refresh', {}, { refreshToken: c.refreshToken })).status, s.options.profile).toBe(401)
      }
    }
  })

  it('answers token-carrying responses with Cache-Control: no-store', async () => {
    const s = await startServer('refresh', 'tuned')
    const res = await fetch(`${s.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'user7', password: 'pw-user7' }) })
    expect(res.headers.get('cache-control')).toBe('no-store')
    const { refreshToken } = (await res.json()) as { refreshToken: string }
    const rotated = await fetch(`${s.url}/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken }) })
    expect(rotated.status).toBe(200)
    expect(rotated.headers.get('cache-control')).toBe('no-store')
  })
})

/** Sends one raw HTTP/1.1 request and returns the status code of the answer. */
function rawStatus(port: number, lines: string[], body = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => {
      text += d
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text)
      if (m) { socket.destroy(); resolve(Number(m[1])) }
    })
    socket.on('error', reject)
    socket.write([...lines, 'host: 127.0.0.1', 'connection: close', `content-length: ${Buffer.byteLength(body)}`, '', body].join('\r\n'))
  })
}

describe.each(strategyProfiles())('$strategy ($profile) with an absolute-form request target', ({ strategy, profile }) => {
  it('answers every route without a 5xx, and logs in as with the origin form', async () => {
    const s = await startServer(strategy, profile)
    const port = Number(new URL(s.url).port)
    const cred = await login(s.url, 7)
    const auth = Object.entries(cred.headers).map(([k, v]) => `${k}: ${v}`)
    const abs = (method: string, path: string) => `${method} http://127.0.0.1:${port}${path} HTTP/1.1`
    const json = 'content-type: application/json'
    const loginBody = JSON.stringify({ username: 'user7', password: 'pw-user7' })
    expect(await rawStatus(port, [abs('POST', '/login'), json], loginBody)).toBe(200)
    expect(await rawStatus(port, [abs('GET', '/me'), ...auth])).toBe(200)
    expect(await rawStatus(port, [abs('GET', '/health')])).toBe(200)
    const refreshStatus = await rawStatus(port, [abs('POST', '/refresh'), json], JSON.stringify({ refreshToken: cred.refreshToken ?? 'x' }))
    expect(refreshStatus).toBe(strategy === 'refresh' ? 200 : 404)
    // as in the origin form: 200, or 501 where the strategy declares that it cannot revoke
    expect(await rawStatus(port, [abs('POST', '/users/7/revoke-all'), ...auth])).toBe(STRATEGIES[strategy].canRevokeAll ? 200 : 501)
    expect(await rawStatus(port, [abs('POST', '/logout'), ...auth])).toBe(204)
    expect(await rawStatus(port, [abs('POST', '/logout')])).toBe(204)
  })
})

describe('secrets in configuration', () => {
  const run = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', SERVER_ENTRY, '--port', '0', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 })

  it.each([
    'redis://:s3cretpw@127.0.0.1:1',
    'redis://admin:s3cretpw@127.0.0.1:1/0',
    'http://:s3cretpw@127.0.0.1:1',
    'redis://:s3cretpw@[not-a-host',
  ])('never prints the password of REDIS_URL=%s', (url) => {
    const r = run(['--strategy', 'redis-session'], { REDIS_URL: url })
    expect(r.status).toBe(2)
    expect(`${r.stdout}${r.stderr}`).not.toContain('s3cretpw')
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('refuses a JWT_SECRET shorter than 256 bits at start, with one line and exit code 2', () => {
    for (const secret of ['a', 'x'.repeat(31)]) {
      const r = run(['--strategy', 'jwt'], { JWT_SECRET: secret, AUTHBENCH_SECRET: 'a-long-enough-root-secret' })
      expect(r.status).toBe(2)
      expect(r.stderr).toMatch(/JWT_SECRET must be at least 32 bytes/)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    }
  })
})

const jwtFamily: StrategyName[] = ['jwt', 'jwt-cookie', 'jwt-denylist', 'refresh']
describe.each(['defaults', 'tuned', 'floor'] as Profile[])('JWT strategies sharing one key (%s)', (profile) => {
  it("refuse each other's tokens", async () => {
    const servers = await Promise.all(jwtFamily.map((s) => startServer(s, profile)))
    const tokens = await Promise.all(servers.map(async (s) => {
      const cred = await login(s.url, 7)
      return cred.accessToken ?? cred.cookies.token!
    }))
    for (const [i, server] of servers.entries()) {
      const carrier = STRATEGIES[jwtFamily[i]!].carrier
      for (const [j, token] of tokens.entries()) {
        const headers: Record<string, string> = carrier === 'cookie' ? { cookie: `token=${token}` } : { authorization: `Bearer ${token}` }
        expect((await me(server.url, headers)).status, `${jwtFamily[j]}'s token on ${jwtFamily[i]}`).toBe(i === j ? 200 : 401)
      }
    }
  })
})

describe.each(['memory-session', 'redis-session'] as const)('%s floor session ids', (strategy) => {
  it('are unsigned 192-bit random ids, new at every login, and a well-formed id nobody issued is refused', async () => {
    const s = await startServer(strategy, 'floor')
    const a = await login(s.url, 7)
    const b = await login(s.url, 7)
    const ids = [a.cookies.sessionId, b.cookies.sessionId]
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/) // 24 CSPRNG bytes, base64url, no signature
    expect(new Set(ids).size).toBe(2)
    expect(Buffer.from(ids[0]!, 'base64url')).toHaveLength(24)
    expect((await me(s.url, a.headers)).status).toBe(200)
    const forged = await me(s.url, { cookie: `sessionId=${'A'.repeat(32)}` })
    expect(forged.status).toBe(401)
    expect(forged.body?.error).toBe('unauthorized')
    expect((await me(s.url, { cookie: `sessionId=${ids[0]}.c2lnbmF0dXJl` })).status).toBe(401) // not the shape we issue
  })
})
