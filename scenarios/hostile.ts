import { createHmac, randomBytes } from 'node:crypto'
import type { Credential } from '../harness/credentials.ts'
import type { ConnectionPlan } from '../harness/load.ts'
import { connectionPlans, loginPopulation } from '../harness/population.ts'
import { loadKeyMaterial } from '../servers/secrets.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { measuredLoad, metricsRepeat, profileFor, summarizeMetrics } from './common.ts'
import type { CellPlan, Scenario } from './types.ts'

const HOSTILE_SHARE = 0.2
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
const flipFirst = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)

/** Invalid credentials of every kind the hostile-input tests check, in this strategy's carrier. */
export function hostileHeaders(strategy: keyof typeof STRATEGIES, valid: Credential, hmacKey: Buffer): Array<Record<string, string>> {
  const now = Math.floor(Date.now() / 1000)
  const sign = (input: string) => createHmac('sha256', hmacKey).update(input).digest('base64url')
  const expiredInput = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: '1', role: 'user', iat: now - 1000, exp: now - 10, jti: 'x'.repeat(16), fam: 'y'.repeat(16) })}`
  const tokens = [
    `${expiredInput}.${sign(expiredInput)}`, // expired, validly signed
    `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: '1', role: 'admin', iat: now, exp: now + 600 })}.`, // alg none
    'eyJ!!!.garbage.***', // malformed
    'x'.repeat(12_000), // large but under the header limit: refused by the auth code
  ]
  const token = valid.accessToken ?? valid.cookies.token
  if (token) {
    const [h, p, s] = token.split('.') as [string, string, string]
    tokens.push(`${h}.${p}.${flipFirst(s)}`) // bad signature
  }
  const carrier = STRATEGIES[strategy].carrier
  const cookieName = Object.keys(valid.cookies)[0] ?? 'token'
  if (carrier === 'bearer') return tokens.map((t) => ({ authorization: `Bearer ${t}` }))
  if (cookieName === 'token') return tokens.map((t) => ({ cookie: `token=${t}` }))
  const value = valid.cookies[cookieName]!
  return [
    { cookie: `${cookieName}=${randomBytes(24).toString('base64url')}` }, // forged, unsigned
    { cookie: `${cookieName}=${flipFirst(value)}` }, // tampered
    { cookie: `${cookieName}=%%%;;;` }, // garbage
    { cookie: `${cookieName}=${'x'.repeat(12_000)}` }, // large
    { cookie: `token=${tokens[1]}` }, // a JWT where a session was expected
  ]
}

/**
 * hostile — a share of the load carries invalid credentials (bad signature, expired, garbage,
 * alg none, oversized). All must be refused with a 4xx, with zero 5xx and no crash; and the CPU
 * cost of refusing is measured against the cost of accepting.
 */
export const hostile: Scenario = {
  name: 'hostile',
  description: `${HOSTILE_SHARE * 100} % of requests carry invalid credentials: all refused with 4xx, zero 5xx, zero crashes; CPU cost of refusing`,
  claims: ['every strategy must refuse bad credentials safely; what refusing costs'],

  plan(options) {
    return options.strategies.map((strategy): CellPlan => {
      const profile = profileFor(strategy, options)
      return { id: `hostile/${strategy}/${profile}/HS256`, scenario: 'hostile', claims: this.claims, env: { strategy, profile, alg: 'HS256', instances: 1, balancer: 'none' } }
    })
  },

  estimateRepeatSec: (o) => 1 + 3 * Math.max(0.5, o.durationSec / 4),

  async runRepeat(ctx, env, _cell, index) {
    const { options, signal } = ctx
    const startedAt = new Date().toISOString()
    const windowSec = Math.max(0.5, options.durationSec / 4)
    const creds = await loginPopulation(env.urls, 100, signal)
    const { hmacKey } = loadKeyMaterial({ AUTHBENCH_SECRET: ctx.orchestrator.secret }, 'HS256')
    const bad = hostileHeaders(env.spec.strategy, creds[0]!, hmacKey)
    const valid = connectionPlans(env.urls, creds, options.connections, '/me')
    const every = Math.round(1 / HOSTILE_SHARE)
    const mixed: ConnectionPlan[] = valid.map((p, k) => ({
      url: p.url,
      requests: p.requests.map((r, j) => (j % every === every - 1 ? { ...r, headers: bad[(j + k) % bad.length]! } : r)),
    }))
    const allBad: ConnectionPlan[] = valid.map((p, k) => ({ url: p.url, requests: bad.map((_, j) => ({ method: 'GET', path: '/me', headers: bad[(j + k) % bad.length]! })) }))
    ctx.status('mixed load')
    const mix = await measuredLoad(env, '/me', mixed, { durationSec: windowSec }, signal)
    ctx.status('refusing only')
    const refusing = await measuredLoad(env, '/me', allBad, { durationSec: windowSec }, signal)
    const accepting = await measuredLoad(env, '/me', valid, { durationSec: windowSec }, signal)
    const count = (w: typeof mix, f: (code: number) => boolean) => Object.entries(w.statusCodes).reduce((n, [c, k]) => (f(Number(c)) ? n + k : n), 0)
    const fiveXx = [mix, refusing, accepting].reduce((n, w) => n + count(w, (c) => c >= 500), 0)
    const refusedWrongly = count(refusing, (c) => c < 400 || c >= 500)
    const alive = (await Promise.all(env.instances.map((i) => fetch(`${i.url}/health`).then((r) => r.status === 200, () => false)))).every(Boolean)
    const mixTotal = Object.values(mix.statusCodes).reduce((a, b) => a + b, 0)
    return metricsRepeat(index, startedAt, {
      fiveXxCount: fiveXx,
      hostileAcceptedCount: refusedWrongly,
      crashedInstances: alive ? 0 : env.instances.length,
      mixedRefusedShare: mixTotal ? count(mix, (c) => c >= 400 && c < 500) / mixTotal : null,
      cpuMicrosPerRefusal: refusing.serverCpuMicrosPerRequest,
      cpuMicrosPerAcceptance: accepting.serverCpuMicrosPerRequest,
      refusalCostRatio: refusing.serverCpuMicrosPerRequest !== null && accepting.serverCpuMicrosPerRequest ? refusing.serverCpuMicrosPerRequest / accepting.serverCpuMicrosPerRequest : null,
      refusalsPerSec: refusing.requestsPerSec,
    }, [mix, refusing, accepting], [`${bad.length} kinds of invalid credential, ${HOSTILE_SHARE * 100} % of the mixed load`])
  },

  summarize: summarizeMetrics,
}
