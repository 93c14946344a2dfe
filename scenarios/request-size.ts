import { loginUser, type Credential } from '../harness/credentials.ts'
import type { ConnectionPlan } from '../harness/load.ts'
import { CLAIM_SETS } from '../servers/config.ts'
import { algorithmsFor, measuredLoad, metricsRepeat, profileFor, summarizeMetrics } from './common.ts'
import type { CellPlan, MetricDecl, Scenario } from './types.ts'

/** Users whose credentials are counted (byte counts are exact: fewer users only narrow the userId lengths averaged over). */
const usersFor = (quick: boolean) => (quick ? 30 : 100)
const REQUESTS_PER_USER = 100
const RATE_RPS = 10_000
const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1)

/** What this scenario reports (units and directions: see MetricDecl). */
export const METRICS: readonly MetricDecl[] = [
  { name: 'credentialBytesPerRequest*', label: 'credential', unit: 'B/req', meaning: 'bytes the credential adds to every request (GET /me with it − without it), at the server socket', better: 'lower', headline: true },
  { name: 'meRequestBytes*', label: '/me request', unit: 'B', meaning: 'bytes of one authenticated GET /me', better: 'lower' },
  { name: 'loginResponseBytes*', label: 'login response', unit: 'B', meaning: 'bytes of the login answer that hands the credential out', better: 'lower' },
  { name: 'credentialBytesPer100Requests*', label: 'credential per 100 requests', unit: 'B', meaning: 'what one user sends for its credential over 100 requests', better: 'lower' },
  { name: 'credentialMegabytesPerSecAt10kRps*', label: 'credential at 10k req/s', unit: 'MB/s', meaning: 'credential bandwidth at 10 000 requests/s', better: 'lower' },
  { name: 'non2xxCount*', label: 'non-2xx', unit: 'count', meaning: 'failed requests while measuring (should be 0)', better: 'lower' },
  { name: 'anonymousRequestBytes', label: 'anonymous /me', unit: 'B', meaning: 'bytes of GET /me with no credential (the reference)', better: 'neither' },
  { name: 'meResponseBytes', label: '/me response', unit: 'B', meaning: 'bytes of the /me answer', better: 'lower' },
]

/**
 * request-size — bytes on the wire, counted at the server's sockets: the credential a client sends
 * with every request, and what login hands out, per strategy, claim set (small: sub and role;
 * typical: about 8 claims; large: plus 50 permissions) and JWT algorithm.
 * The credential's share of a request = bytes of `GET /me` with it − bytes of `GET /me` without it.
 */
export const requestSize: Scenario = {
  name: 'request-size',
  description: 'bytes per request and per response for each strategy, claim set (small, typical, large) and JWT algorithm',
  claims: ['JWT tokens are "larger" and make requests larger', 'sessions send a "small" id'],
  metrics: METRICS,
  repeats: () => 1, // byte counts are exact, not noisy: one repeat measures them

  plan(options) {
    const cells: CellPlan[] = []
    for (const strategy of options.strategies) {
      const profile = profileFor(strategy, options)
      for (const alg of algorithmsFor(strategy, options)) {
        cells.push({ id: `request-size/${strategy}/${profile}/${alg}`, scenario: 'request-size', claims: this.claims, env: { strategy, profile, alg, instances: 1, balancer: 'none' } })
      }
    }
    return cells
  },

  // measured on the 2-core machine (quick ≈ 0.6 s, default ≈ 1.8 s): seven counted windows and three logins per user
  estimateRepeatSec: (o) => 0.1 + usersFor(o.quick) * 0.0163,

  async runRepeat(ctx, env, _cell, index) {
    const startedAt = new Date().toISOString()
    const users = usersFor(ctx.options.quick)
    const url = env.urls[0]!
    const once = (requests: ConnectionPlan['requests']): ConnectionPlan[] => [{ url, requests }]
    const bare = await measuredLoad(env, '/me', once([{ method: 'GET', path: '/me', headers: {} }]), { roundsPerConnection: users }, ctx.signal)
    const metrics: Record<string, number | null> = { anonymousRequestBytes: bare.requestBytesPerRequest }
    const windows = [bare]
    for (const claims of CLAIM_SETS) {
      ctx.status(`${claims} claims`)
      const bodies = Array.from({ length: users }, (_, i) => JSON.stringify({ username: `user${i + 1}`, password: `pw-user${i + 1}`, claims }))
      const login = await measuredLoad(env, '/login', once(bodies.map((body) => ({ method: 'POST', path: '/login', headers: { 'content-type': 'application/json' }, body }))), { roundsPerConnection: 1 }, ctx.signal)
      const creds: Credential[] = await Promise.all(Array.from({ length: users }, (_, i) => loginUser(url, i + 1, { claims })))
      const me = await measuredLoad(env, '/me', once(creds.map((c) => ({ method: 'GET', path: '/me', headers: c.headers }))), { roundsPerConnection: 1 }, ctx.signal)
      windows.push(login, me)
      const credentialBytes = me.requestBytesPerRequest! - bare.requestBytesPerRequest!
      const C = cap(claims)
      metrics[`meRequestBytes${C}`] = me.requestBytesPerRequest
      metrics[`credentialBytesPerRequest${C}`] = credentialBytes
      metrics[`loginResponseBytes${C}`] = login.responseBytesPerRequest
      metrics[`credentialBytesPer100Requests${C}`] = credentialBytes * REQUESTS_PER_USER
      metrics[`credentialMegabytesPerSecAt10kRps${C}`] = (credentialBytes * RATE_RPS) / 1e6
      metrics[`non2xxCount${C}`] = me.non2xx + login.non2xx
    }
    metrics.meResponseBytes = windows.at(-1)!.responseBytesPerRequest
    return metricsRepeat(index, startedAt, metrics, windows, [
      `bytes counted at the server's socket over ${users} users; "per 100 requests" is what one user sends for ${REQUESTS_PER_USER} requests; "at 10k rps" is ${RATE_RPS} requests/s of that credential`,
    ])
  },

  summarize: summarizeMetrics,
}
