/**
 * Routes that read a credential from a cookie, which a browser attaches by itself, answer only
 * same-origin JSON requests (issue 7, and issue 20 rows 2 and 6: refresh's /refresh and /logout
 * took the refresh token from a cookie cross-site; the Origin check ignored the scheme). Also: a
 * login refuses credentials that are not strings instead of coercing them.
 */
import { describe, expect, it } from 'vitest'
import { credentialFrom, type Credential } from '../harness/load/credentials.ts'
import { STRATEGIES, strategyProfiles } from '../servers/strategies/index.ts'
import { me, post, startServer } from './helpers.ts'

async function login(base: string, i: number): Promise<Credential> {
  const res = await post(base, '/login', {}, { username: `user${i}`, password: `pw-user${i}` })
  expect(res.status).toBe(200)
  return credentialFrom(res.setCookies, res.body ?? {})
}

/** Headers a browser sends on a request another site makes it send, with its status when refused. */
function crossSiteVariants(url: string): Array<{ headers: Record<string, string>; body?: string; refused: 403 | 415 }> {
  const { host, port } = new URL(url)
  return [
    { headers: { 'content-type': 'text/plain' }, body: 'x', refused: 415 },
    { headers: { 'content-type': 'text/plain' }, body: '', refused: 415 },
    { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1', refused: 415 },
    { headers: { origin: 'http://sibling.example.test' }, refused: 403 },
    { headers: { origin: `http://127.0.0.1:${Number(port) + 1}` }, refused: 403 },
    { headers: { origin: `https://${host}` }, refused: 403 }, // same host and port, other scheme: another origin
    { headers: { origin: 'null' }, refused: 403 },
    { headers: { 'sec-fetch-site': 'same-site' }, refused: 403 },
    { headers: { 'sec-fetch-site': 'cross-site' }, refused: 403 },
  ]
}
const sameOrigin = (url: string) => ({ origin: `http://${new URL(url).host}`, 'sec-fetch-site': 'same-origin' })

const cookieReaders = strategyProfiles().filter(({ strategy }) => STRATEGIES[strategy].readsCookies)
describe.each(cookieReaders)('$strategy ($profile), which reads a credential from a cookie', ({ strategy, profile }) => {
  it('refuses text/plain and cross-origin posts to login, logout and revoke-all, and accepts its own origin', async () => {
    const s = await startServer(strategy, profile)
    const cred = await login(s.url, 7)
    const send = (path: string, headers: Record<string, string>, body?: string) =>
      fetch(`${s.url}${path}`, { method: 'POST', headers: { ...cred.headers, ...headers }, ...(body === undefined ? {} : { body }) })
    for (const path of ['/logout', '/users/7/revoke-all']) {
      for (const v of crossSiteVariants(s.url)) expect((await send(path, v.headers, v.body)).status, `${path} ${JSON.stringify(v.headers)}`).toBe(v.refused)
    }
    for (const origin of ['http://sibling.example.test', `https://${new URL(s.url).host}`]) {
      expect((await post(s.url, '/login', { origin }, { username: 'user8', password: 'pw-user8' })).status, origin).toBe(403)
    }
    // none of that logged anybody out
    expect((await me(s.url, cred.headers)).status).toBe(200)
    expect((await post(s.url, '/login', sameOrigin(s.url), { username: 'user8', password: 'pw-user8' })).status).toBe(200)
    expect((await send('/logout', sameOrigin(s.url))).status).toBe(204)
  })
})

describe.each(['defaults', 'tuned', 'floor'] as const)('refresh (%s) with its refresh token in a cookie', (profile) => {
  it('neither rotates nor ends the family on a cross-site /refresh or /logout, and does on a same-origin one', async () => {
    const s = await startServer('refresh', profile)
    const cred = await login(s.url, 7)
    const cookie = { cookie: `refreshToken=${cred.refreshToken}` }
    for (const path of ['/refresh', '/logout']) {
      for (const v of crossSiteVariants(s.url)) {
        const res = await fetch(`${s.url}${path}`, { method: 'POST', headers: { ...cookie, ...v.headers }, ...(v.body === undefined ? {} : { body: v.body }) })
        expect(res.status, `${path} ${JSON.stringify(v.headers)}`).toBe(v.refused)
      }
    }
    // the token was neither rotated (its next use would be reuse) nor ended: the victim's own refresh works
    const rotated = await post(s.url, '/refresh', { ...cookie, ...sameOrigin(s.url) })
    expect(rotated.status).toBe(200)
    const next = (rotated.body as { refreshToken: string }).refreshToken
    expect((await post(s.url, '/logout', { cookie: `refreshToken=${next}`, ...sameOrigin(s.url) })).status).toBe(204)
    expect((await post(s.url, '/refresh', {}, { refreshToken: next })).status).toBe(401) // that logout ended the family
  })
})

describe.each(strategyProfiles())('$strategy ($profile) login body', ({ strategy, profile }) => {
  it('refuses a username or password that is not a string (400), and never coerces it into one', async () => {
    const s = await startServer(strategy, profile)
    for (const body of [
      { username: ['user5'], password: 'pw-user5' },
      { username: 'user5', password: ['pw-user5'] },
      { username: 5, password: 'pw-user5' },
      { username: 'user5', password: true },
    ]) {
      const res = await post(s.url, '/login', {}, body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body?.error, JSON.stringify(body)).toEqual(expect.any(String))
      // (defaults' @fastify/session hands every request an anonymous session: it must not be a login)
      expect((await me(s.url, credentialFrom(res.setCookies, {}).headers)).status, JSON.stringify(body)).toBe(401)
    }
    expect((await post(s.url, '/login', {}, { username: 'user5', password: 'pw-user5' })).status).toBe(200)
  })
})
