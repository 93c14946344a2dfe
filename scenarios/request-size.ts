import { connectionPlans, loginPopulation } from '../harness/population.ts'
import { CLAIM_SETS, JWT_ALGORITHMS } from '../servers/config.ts'
import { isJwtFamily, loginPlans, measuredLoad, metricsRepeat, profileFor, summarizeMetrics } from './common.ts'
import type { CellPlan, Scenario } from './types.ts'

const USERS = 100
const REQUESTS_PER_USER = 100
const RATE_RPS = 10_000

/**
 * request-size — bytes on the wire, counted at the server's sockets: the credential a client sends
 * with every request, and what login hands out, per strategy, claim set and JWT algorithm.
 * The credential's share of a request = bytes of `GET /me` with it − bytes of `GET /me` without it.
 */
export const requestSize: Scenario = {
  name: 'request-size',
  description: 'bytes per request and per response for each strategy, claim set (small, typical, large) and JWT algorithm',
  claims: ['JWT tokens are "larger" and make requests larger', 'sessions send a "small" id'],
  repeats: () => 1, // byte counts are exact, not noisy: one repeat measures them

  plan(options) {
    const cells: CellPlan[] = []
    for (const strategy of options.strategies) {
      const profile = profileFor(strategy, options)
      const algs = strategy === 'jwt' ? JWT_ALGORITHMS : (['HS256'] as const)
      for (const claims of CLAIM_SETS) {
        for (const alg of algs) {
          cells.push({
            id: `request-size/${strategy}/${profile}/${alg}/${claims}`,
            scenario: 'request-size',
            claims: this.claims,
            env: { strategy, profile, alg, claims, instances: 1, balancer: 'none' },
          })
        }
      }
    }
    return cells
  },

  estimateRepeatSec: () => 2,

  async runRepeat(ctx, env, _cell, index) {
    const startedAt = new Date().toISOString()
    ctx.status('logging in')
    const login = await measuredLoad(env, '/login', loginPlans(env.urls, 1, USERS, 1), { roundsPerConnection: 1 }, ctx.signal)
    const creds = await loginPopulation(env.urls, USERS, ctx.signal)
    const withCredential = await measuredLoad(env, '/me', connectionPlans(env.urls, creds, 1, '/me'), { roundsPerConnection: 1 }, ctx.signal)
    const bare = await measuredLoad(env, '/me', [{ url: env.urls[0]!, requests: [{ method: 'GET', path: '/me', headers: {} }] }], { roundsPerConnection: USERS }, ctx.signal)
    const credentialBytes = withCredential.requestBytesPerRequest! - bare.requestBytesPerRequest!
    return metricsRepeat(index, startedAt, {
      meRequestBytes: withCredential.requestBytesPerRequest,
      meResponseBytes: withCredential.responseBytesPerRequest,
      anonymousRequestBytes: bare.requestBytesPerRequest,
      credentialBytesPerRequest: credentialBytes,
      loginRequestBytes: login.requestBytesPerRequest,
      loginResponseBytes: login.responseBytesPerRequest,
      credentialBytesPer100Requests: credentialBytes * REQUESTS_PER_USER,
      credentialMegabytesPerSecAt10kRps: (credentialBytes * RATE_RPS) / 1e6,
      credentialGigabytesPerDayAt10kRps: (credentialBytes * RATE_RPS * 86_400) / 1e9,
      non2xxCount: withCredential.non2xx + login.non2xx,
    }, [login, withCredential, bare], [
      `${isJwtFamily(env.spec.strategy) ? 'token' : 'cookie'} carried on every request; bytes counted at the server's socket over ${USERS} users`,
    ])
  },

  summarize: summarizeMetrics,
}
