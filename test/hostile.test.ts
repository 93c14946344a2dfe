import { createHmac, randomBytes } from 'node:crypto'
import fastifySecureSession from '@fastify/secure-session'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { credentialFrom } from '../harness/load/credentials.ts'
import { STRATEGIES, strategyProfiles } from '../servers/strategies/index.ts'
import { me, post, request, startServer, TEST_JWT_SECRET } from './helpers.ts'

const b64 = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)

/** A JWT signed by hand: lets the tests build every malformed or hostile token they need. */
function mint(payload: unknown, opts: { alg?: string; key?: string | Buffer; hash?: string; header?: unknown } = {}): string {
  const header = opts.header ?? { alg: opts.alg ?? 'HS256', typ: 'JWT' }
  const input = `${b64(header)}.${b64(payload)}`
  if (opts.alg === 'none') return `${input}.`
  const sig = createHmac(opts.hash ?? 'sha256', opts.key ?? TEST_JWT_SECRET).update(input).digest('base64url')
  return `${input}.${sig}`
}
const claims = (extra: Record<string, unknown> = {}) => ({ sub: '7', role: 'user', iat: now(), exp: now() + 600, jti: 'abcdefghijklmnop', fam: 'abcdefghijklmnop', ...extra })

/** Changes the first character (not the last: in base64 its low bits may be padding and decode the same). */
function flipFirst(s: string): string {
  return (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
}

/** Hostile JWTs: each would be a valid credential if the server skipped one check. */
function hostileTokens(valid: string): Record<string, string> {
  const [h, p, s] = valid.split('.') as [string, string, string]
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString())
  const { sub: _s, ...noSub } = claims()
  const { role: _r, ...noRole } = claims()
  const { exp: _e, ...noExp } = claims()
  const { iat: _i, ...noIat } = claims()
  return {
    'tampered payload (role raised to admin)': `${h}.${b64({ ...payload, role: 'admin' })}.${s}`,
    'tampered signature': `${h}.${p}.${flipFirst(s)}`,
    'expired': mint(claims({ iat: now() - 1000, exp: now() - 10 })),
    'not yet valid (nbf in the future)': mint(claims({ nbf: now() + 3600 })),
    'signed with another key': mint(claims(), { key: 'another-secret-entirely-0123456789' }),
    'signed with another algorithm (HS512, same key)': mint(claims(), { header: { alg: 'HS512', typ: 'JWT' }, hash: 'sha512' }),
    'alg none': mint(claims(), { alg: 'none' }),
    'alg none, upper case': `${b64({ alg: 'NONE', typ: 'JWT' })}.${b64(claims())}.`,
    'malformed base64': '!!!.???.***',
    'three garbage parts': 'abc.def.ghi',
    'two parts': `${h}.${p}`,
    'malformed JSON header, validly signed': (() => { const i = `${b64('{"alg":"HS256"')}.${b64(claims())}`; return `${i}.${createHmac('sha256', TEST_JWT_SECRET).update(i).digest('base64url')}` })(),
    'malformed JSON payload, validly signed': (() => { const i = `${h}.${b64('{"sub":"7",')}`; return `${i}.${createHmac('sha256', TEST_JWT_SECRET).update(i).digest('base64url')}` })(),
    'payload is a JSON array, validly signed': mint([1, 2, 3]),
    'no sub claim': mint(noSub),
    'no role claim': mint(noRole),
    'no exp claim': mint(noExp),
    'no iat claim': mint(noIat),
    'sub is a number': mint(claims({ sub: 7 })),
    'sub is not a user id': mint(claims({ sub: 'admin' })),
    'role is an object': mint(claims({ role: { admin: true } })),
    'jti is a number': mint(claims({ jti: 42 })),
    '12 KB of garbage': 'x'.repeat(12_000),
  }
}

function expectRefused(res: { status: number; body: Record<string, unknown> | null; contentType: string | null }, status = 401) {
  expect(res.status).toBe(status)
  expect(res.contentType).toMatch(/application\/json/)
  expect(typeof res.body?.error).toBe('string')
}

describe.each(strategyProfiles())('$strategy ($profile) refuses hostile credentials', ({ strategy, profile }) => {
  const def = STRATEGIES[strategy]
  const jwtFamily = strategy.startsWith('jwt') || strategy === 'refresh'

  it('with a JSON 4xx every time, and stays up', async () => {
    const s = await startServer(strategy, profile)
    const login = await post(s.url, '/login', {}, { username: 'user7', password: 'pw-user7' })
    const cred = credentialFrom(login.setCookies, login.body ?? {})
    const cases: Record<string, Record<string, string>> = {}

    if (jwtFamily) {
      const valid = cred.accessToken ?? cred.cookies.token!
      const put = (t: string): Record<string, string> => (def.carrier === 'cookie' ? { cookie: `token=${t}` } : { authorization: `Bearer ${t}` })
      for (const [name, token] of Object.entries(hostileTokens(valid))) cases[name] = put(token)
      if (strategy === 'jwt-denylist') {
        const { jti: _j, ...noJti } = claims()
        cases['no jti claim (cannot be revoked)'] = put(mint(noJti))
      }
      if (def.carrier === 'bearer') {
        cases['empty bearer'] = { authorization: 'Bearer ' }
        cases['bearer with two parts'] = { authorization: `Bearer ${valid} extra` }
        cases['basic auth'] = { authorization: 'Basic dXNlcjc6cHctdXNlcjc=' }
        cases['the token in a cookie instead of the header'] = { cookie: `token=${valid}` }
      } else {
        cases['the token as a bearer header instead of the cookie'] = { authorization: `Bearer ${valid}` }
      }
    } else {
      const [name, value] = Object.entries(cred.cookies)[0]!
      const dot = value.lastIndexOf('.')
      cases['forged unsigned id'] = { cookie: `${name}=${randomBytes(24).toString('base64url')}` }
      cases['id with a forged signature'] = { cookie: `${name}=${value.slice(0, dot + 1)}${flipFirst(value.slice(dot + 1))}` }
      cases['tampered id, original signature'] = { cookie: `${name}=${flipFirst(value)}` }
      cases['garbage'] = { cookie: `${name}=%%%;;;===` }
      cases['empty'] = { cookie: `${name}=` }
      cases['12 KB value'] = { cookie: `${name}=${'x'.repeat(12_000)}` }
      cases['a JWT in a cookie meant for the jwt-cookie strategy'] = { cookie: `token=${mint(claims())}` }
      cases['a bearer token instead of the cookie'] = { authorization: `Bearer ${mint(claims())}` }
      if (strategy === 'secure-session') {
        cases['ciphertext without a nonce'] = { cookie: `${name}=${value.split('%3B')[0]}` }
      } else {
        cases['a secure-session cookie'] = { cookie: `session=${'A'.repeat(60)}%3B${'B'.repeat(32)}` }
      }
    }

    for (const [name, headers] of Object.entries(cases)) {
      const res = await me(s.url, headers)
      expect.soft(res.status, name).toBe(401)
      expect.soft(res.contentType, name).toMatch(/application\/json/)
      expect.soft(res.body?.error, name).toBe('unauthorized')
    }
    // logout and revoke-all with hostile credentials do not crash either
    for (const headers of Object.values(cases).slice(0, 5)) {
      expect((await post(s.url, '/logout', headers)).status).toBeLessThan(500)
      expectRefused(await post(s.url, '/users/7/revoke-all', headers))
    }
    // oversized headers: 431 with a JSON body, and the server is still up
    expectRefused(await me(s.url, { cookie: `x=${'y'.repeat(20_000)}`, authorization: `Bearer ${'z'.repeat(20_000)}` }), 431)
    expect((await request(`${s.url}/health`)).status).toBe(200)
    // the genuine credential still works after all that
    expect((await me(s.url, cred.headers)).status).toBe(200)
  })
})

describe('algorithm confusion', () => {
  it('an RS256 server refuses an HS256 token signed with its own public key', async () => {
    const s = await startServer('jwt', 'tuned', { alg: 'RS256' })
    const publicPem = s.keys.jwtPublicKey!.export({ type: 'spki', format: 'pem' }) as string
    for (const key of [publicPem, Buffer.from(publicPem)]) {
      expectRefused(await me(s.url, { authorization: `Bearer ${mint(claims(), { key })}` }))
    }
    const floor = await startServer('jwt', 'floor', { alg: 'RS256' }, s.keys)
    expectRefused(await me(floor.url, { authorization: `Bearer ${mint(claims(), { key: publicPem })}` }))
  })

  it('an EdDSA server refuses an HS256 token signed with the shared HMAC secret', async () => {
    const s = await startServer('jwt', 'tuned', { alg: 'EdDSA' })
    expectRefused(await me(s.url, { authorization: `Bearer ${mint(claims())}` }))
  })
})

describe('secure-session', () => {
  async function encoder(key: Buffer) {
    const app = Fastify()
    await app.register(fastifySecureSession, { key, cookieName: 'session' })
    await app.ready()
    return (data: Record<string, unknown>) => encodeURIComponent(app.encodeSecureSession(app.createSecureSession(data)))
  }

  it('refuses a cookie encrypted with another key, an expired one, and one with ill-typed data', async () => {
    const s = await startServer('secure-session', 'tuned')
    const other = await encoder(randomBytes(32))
    const same = await encoder(s.keys.secureSessionKey)
    expect((await me(s.url, { cookie: `session=${same({ userId: 7, role: 'user' })}` })).status).toBe(200) // the encoder is right
    expectRefused(await me(s.url, { cookie: `session=${other({ userId: 7, role: 'user' })}` }))
    expectRefused(await me(s.url, { cookie: `session=${same({ userId: 7, role: 'user', __ts: now() - 2 * 3600 })}` }))
    expectRefused(await me(s.url, { cookie: `session=${same({ userId: '7', role: 'user' })}` }))
    expectRefused(await me(s.url, { cookie: `session=${same({ userId: 7 })}` }))
  })
})
