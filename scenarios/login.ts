import type { BenchOptions } from '../harness/run/options.ts'
import { connectionPlans, loginPopulation } from '../harness/load/population.ts'
import type { WindowMeasurement } from '../harness/results/results.ts'
import { algorithmsFor, isJwtFamily, loginPlans, measuredLoad, median, metricsRepeat, pooledCpuMicrosPerRequest, pooledPerRequest, pooledRequestsPerSec, profileFor, rotated, summarizeMetrics, warmUntilSteady, warmUp } from './common.ts'
import type { CellPlan, ChartDecl, MetricDecl, MetricNameOf, Scenario } from '../harness/run/scenario.ts'

/** Unmeasured logins until their CPU per login settles (it falls ≈ 2.5× over the first thousands), and each measured window. */
const warmBoundsFor = (o: Readonly<BenchOptions>) => (o.quick ? { minSec: 0.1, maxSec: 0.2, chunkSec: 0.1 } : { minSec: 0.45, maxSec: 1.5, chunkSec: 0.15, minRequestsPerInstance: 2000 })
const windowSecFor = (o: Readonly<BenchOptions>) => (o.quick ? 0.15 : 0.5)
/** Users each repeat logs in (its own range), and the warm-up's range after them: the server knows 20 000. */
const USERS_PER_REPEAT = 5000
const WARMUP_FIRST_USER = 15_001

/** What this scenario reports (units and directions: see MetricDecl). */
export const METRICS = [
  { name: 'cpuMicrosPerLogin', label: 'CPU per login', unit: 'µs/login', meaning: 'server CPU per POST /login: password check + issuing the credential', better: 'lower', headline: true },
  { name: 'loginCpuRatioToHealth', label: 'login ÷ /health', unit: 'ratio', meaning: 'CPU per login over CPU per /health request in the same cell', better: 'lower' },
  { name: 'loginsPerSec', label: 'logins', unit: 'logins/s', meaning: 'logins answered per second', better: 'higher' },
  { name: 'loginLatencyP50Ms', label: 'login p50', unit: 'ms', meaning: 'closed-loop login latency', better: 'lower' },
  { name: 'loginLatencyP99Ms', label: 'login p99', unit: 'ms', meaning: 'closed-loop login latency', better: 'lower' },
  { name: 'redisCommandsPerLogin', label: 'Redis commands', unit: 'cmd/login', meaning: 'Redis commands per login', better: 'lower', headline: true },
  { name: 'redisCpuMicrosPerLogin', label: 'Redis CPU', unit: 'µs/login', meaning: 'Redis CPU per login', better: 'lower' },
  { name: 'healthCpuMicrosPerRequest', label: 'CPU per /health', unit: 'µs/req', meaning: 'the baseline beside the logins', better: 'lower' },
  { name: 'non2xxCount', label: 'non-2xx', unit: 'count', meaning: 'failed logins (should be 0)', better: 'lower' },
] as const satisfies readonly MetricDecl[]

/** The report's charts of this scenario. */
const CHARTS: ReadonlyArray<ChartDecl<MetricNameOf<typeof METRICS>>> = [
  { title: 'Server CPU per login', series: [{ metric: 'cpuMicrosPerLogin' }] },
  { title: 'Redis commands per login', series: [{ metric: 'redisCommandsPerLogin' }] },
]

/**
 * login — the cost of issuing a credential: a session write (memory or Redis) against a JWT
 * signature per algorithm. POST /login under load, with /health windows beside it as the baseline:
 * both paths warmed up first, then login, /health, /health, login (or the reverse in odd repeats),
 * so that neither path is always measured on the colder process.
 */
export const login: Scenario = {
  name: 'login',
  description: 'the cost of issuing a credential: CPU µs per login and logins/s, session write vs JWT signature per algorithm',
  claims: ['sessions cost server work at login (a store write)', 'JWT costs a signature (per algorithm)'],
  metrics: METRICS,
  targetMode: 'needs-stats',
  charts: CHARTS,
  repeats: (o) => o.metricsRepeats,

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

  // measured on the 2-core machine (quick ≈ 1.35 s, default ≈ 4.35 s): 20 logins for /health's
  // credentials, the warm-ups (logins settle in ≈ 1.3 s from cold), four windows (each with its samples and the requests in flight at its end)
  estimateRepeatSec: (o) => 0.1 + (o.quick ? 0.15 : 1.35) + warmBoundsFor(o).minSec + 4 * (windowSecFor(o) * 1.1 + 0.05),

  async runRepeat(ctx, env, _cell, index) {
    const { options, signal } = ctx
    const startedAt = new Date().toISOString()
    const windowSec = windowSecFor(options)
    // each repeat logs in users of its own range (the server knows HARNESS_USER_COUNT users), half
    // per login window, so a measured login is a first login unless a window logs in more than 2 500
    const first = 1 + (index % 3) * USERS_PER_REPEAT
    const half = USERS_PER_REPEAT / 2
    const creds = await loginPopulation(env.urls, 20, signal)
    const healthPlans = connectionPlans(env.urls, creds, options.connections, '/health')
    ctx.status('warming up')
    const warm = await warmUntilSteady(env, '/login', loginPlans(env.urls, WARMUP_FIRST_USER, USERS_PER_REPEAT, options.connections), warmBoundsFor(options), signal)
    await warmUp(healthPlans, warmBoundsFor(options).minSec, signal)
    const order = rotated(['login', 'health'] as const, index)
    const logins: WindowMeasurement[] = []
    const health: WindowMeasurement[] = []
    const windows: WindowMeasurement[] = []
    for (const path of [...order, ...[...order].reverse()]) {
      ctx.status(`measuring ${path === 'login' ? 'logins' : '/health'}`)
      const w = path === 'login'
        ? await measuredLoad(env, '/login', loginPlans(env.urls, first + logins.length * half, half, options.connections), { durationSec: windowSec }, signal)
        : await measuredLoad(env, '/health', healthPlans, { durationSec: windowSec }, signal)
      ;(path === 'login' ? logins : health).push(w)
      windows.push(w)
    }
    const cpu = pooledCpuMicrosPerRequest(logins)
    const healthCpu = pooledCpuMicrosPerRequest(health)
    return metricsRepeat(index, startedAt, {
      cpuMicrosPerLogin: cpu,
      loginsPerSec: pooledRequestsPerSec(logins),
      loginLatencyP50Ms: median(logins.map((w) => w.latencyMs.p50)),
      loginLatencyP99Ms: Math.max(...logins.map((w) => w.latencyMs.p99)),
      redisCommandsPerLogin: pooledPerRequest(logins, (w) => w.redisCommandsPerRequest),
      redisCpuMicrosPerLogin: pooledPerRequest(logins, (w) => w.redisCpuMicrosPerRequest),
      healthCpuMicrosPerRequest: healthCpu,
      loginCpuRatioToHealth: cpu !== null && healthCpu ? cpu / healthCpu : null,
      non2xxCount: logins.reduce((n, w) => n + w.non2xx, 0),
    }, windows, [
      isJwtFamily(env.spec.strategy) ? `signs with ${env.spec.alg}` : 'writes a session',
      `logins warmed up for ${warm.sec.toFixed(2)} s (${warm.steady ? 'until CPU per login settled' : 'to the limit: CPU per login was still settling'}), /health for ${warmBoundsFor(options).minSec} s; then measured in ${windowSec} s windows in this order: ${windows.map((w) => w.path).join(', ')}; per-login figures pooled over the login windows (p50: their median; p99: the larger)`,
    ])
  },

  summarize: summarizeMetrics,
}
