import { connectionPlans, loginPopulation } from '../harness/population.ts'
import { algorithmsFor, isJwtFamily, loginPlans, measuredLoad, metricsRepeat, profileFor, summarizeMetrics } from './common.ts'
import type { CellPlan, MetricDecl, Scenario } from './types.ts'

/** What this scenario reports (units and directions: see MetricDecl). */
export const METRICS: readonly MetricDecl[] = [
  { name: 'cpuMicrosPerLogin', label: 'CPU per login', unit: 'µs/login', meaning: 'server CPU per POST /login: password check + issuing the credential', better: 'lower', headline: true },
  { name: 'loginCpuRatioToHealth', label: 'login ÷ /health', unit: 'ratio', meaning: 'CPU per login over CPU per /health request in the same cell', better: 'lower' },
  { name: 'loginsPerSec', label: 'logins', unit: 'logins/s', meaning: 'logins answered per second', better: 'higher' },
  { name: 'loginLatencyP50Ms', label: 'login p50', unit: 'ms', meaning: 'closed-loop login latency', better: 'lower' },
  { name: 'loginLatencyP99Ms', label: 'login p99', unit: 'ms', meaning: 'closed-loop login latency', better: 'lower' },
  { name: 'redisCommandsPerLogin', label: 'Redis commands', unit: 'cmd/login', meaning: 'Redis commands per login', better: 'lower', headline: true },
  { name: 'redisCpuMicrosPerLogin', label: 'Redis CPU', unit: 'µs/login', meaning: 'Redis CPU per login', better: 'lower' },
  { name: 'healthCpuMicrosPerRequest', label: 'CPU per /health', unit: 'µs/req', meaning: 'the baseline beside the logins', better: 'lower' },
  { name: 'non2xxCount', label: 'non-2xx', unit: 'count', meaning: 'failed logins (should be 0)', better: 'lower' },
]

/**
 * login — the cost of issuing a credential: a session write (memory or Redis) against a JWT
 * signature per algorithm. POST /login under load, with a /health window beside it as the baseline.
 */
export const login: Scenario = {
  name: 'login',
  description: 'the cost of issuing a credential: CPU µs per login and logins/s, session write vs JWT signature per algorithm',
  claims: ['sessions cost server work at login (a store write)', 'JWT costs a signature (per algorithm)'],
  metrics: METRICS,

  plan(options) {
    const cells: CellPlan[] = []
    for (const strategy of options.strategies) {
      const profile = profileFor(strategy, options)
      for (const alg of algorithmsFor(strategy, options)) {
        cells.push({ id: `login/${strategy}/${profile}/${alg}`, scenario: 'login', claims: this.claims, env: { strategy, profile, alg, instances: 1, balancer: 'none' } })
      }
    }
    return cells
  },

  estimateRepeatSec: (o) => 1 + 2 * Math.max(0.5, o.durationSec / 4),

  async runRepeat(ctx, env, _cell, index) {
    const { options, signal } = ctx
    const startedAt = new Date().toISOString()
    const windowSec = Math.max(0.5, options.durationSec / 4)
    // each repeat logs in users of its own range (the server knows HARNESS_USER_COUNT users), so a
    // measured login is a first login unless the machine logs in more than 5000 users in one window
    const first = 1 + (index % 3) * 5000
    const plans = loginPlans(env.urls, first, 5000, options.connections)
    ctx.status('warming up')
    await measuredLoad(env, '/login', loginPlans(env.urls, 15_001, 5_000, options.connections), { durationSec: Math.min(1, options.warmupSec) }, signal)
    ctx.status('measuring logins')
    const logins = await measuredLoad(env, '/login', plans, { durationSec: windowSec }, signal)
    const creds = await loginPopulation(env.urls, 20, signal)
    const health = await measuredLoad(env, '/health', connectionPlans(env.urls, creds, options.connections, '/health'), { durationSec: windowSec }, signal)
    const cpu = logins.serverCpuMicrosPerRequest
    return metricsRepeat(index, startedAt, {
      cpuMicrosPerLogin: cpu,
      loginsPerSec: logins.requestsPerSec,
      loginLatencyP50Ms: logins.latencyMs.p50,
      loginLatencyP99Ms: logins.latencyMs.p99,
      redisCommandsPerLogin: logins.redisCommandsPerRequest,
      redisCpuMicrosPerLogin: logins.redisCpuMicrosPerRequest,
      healthCpuMicrosPerRequest: health.serverCpuMicrosPerRequest,
      loginCpuRatioToHealth: cpu !== null && health.serverCpuMicrosPerRequest ? cpu / health.serverCpuMicrosPerRequest : null,
      non2xxCount: logins.non2xx,
    }, [logins, health], isJwtFamily(env.spec.strategy) ? [`signs with ${env.spec.alg}`] : ['writes a session'])
  },

  summarize: summarizeMetrics,
}
