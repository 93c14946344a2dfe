import { runLoad } from '../harness/load.ts'
import { connectionPlans, loginPopulation } from '../harness/population.ts'
import { measureWindow, readRedisInfo, takeSample } from '../harness/probes.ts'
import type { RepeatResult, ThroughputRepeat, ThroughputSummary, WindowMeasurement, WindowPair } from '../harness/results.ts'
import { estimate } from '../harness/stats.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import type { CellPlan, MetricDecl, Scenario } from './types.ts'

const PATHS = { me: '/me', health: '/health' } as const
const FIRST_WARMUP_FACTOR = 3

/** What this scenario reports (units and directions: see MetricDecl). */
export const METRICS: readonly MetricDecl[] = [
  { name: 'cpuRatio', label: 'CPU /me ÷ /health', unit: 'ratio', meaning: 'server CPU per /me request over the same per /health request, measured in alternating windows on one instance', better: 'lower', headline: true },
  { name: 'meCpuMicrosPerRequest', label: 'CPU per /me', unit: 'µs/req', meaning: 'server CPU time (user + system, all instances) per answered /me request', better: 'lower', headline: true },
  { name: 'healthCpuMicrosPerRequest', label: 'CPU per /health', unit: 'µs/req', meaning: 'the same for the /health baseline: identical request, no auth work', better: 'lower' },
  { name: 'meRequestsPerSec', label: '/me throughput', unit: 'req/s', meaning: 'requests per second answered in the /me windows (weather on a shared machine: compare ratios)', better: 'higher' },
  { name: 'meLatencyP50Ms', label: '/me latency p50', unit: 'ms', meaning: 'closed-loop latency: includes queueing at the server', better: 'lower' },
  { name: 'meLatencyP99Ms', label: '/me latency p99', unit: 'ms', meaning: 'closed-loop latency: includes queueing at the server', better: 'lower' },
  { name: 'meRequestBytes', label: '/me request', unit: 'B', meaning: 'bytes of one /me request, counted at the server socket', better: 'lower' },
  { name: 'redisCommandsPerRequest', label: 'Redis commands', unit: 'cmd/req', meaning: 'Redis commands per /me request (INFO deltas)', better: 'lower' },
  { name: 'redisCpuMicrosPerRequest', label: 'Redis CPU', unit: 'µs/req', meaning: 'Redis CPU time per /me request (INFO deltas)', better: 'lower' },
]

/**
 * throughput — GET /me per strategy against GET /health on the same instance.
 * Each repeat: log a fresh population in (unmeasured), warm up, count the exact bytes of one
 * request per user at the servers' sockets, then measure /me and /health in alternating short
 * windows (me-health, health-me, …) so that every CPU ratio comes from a pair measured seconds apart.
 */
export const throughput: Scenario = {
  name: 'throughput',
  description: 'GET /me per strategy against the GET /health baseline: requests/s, latency, server CPU per request and its ratio to the baseline',
  claims: ['JWT "scales better" (per-request cost)', 'sessions are stateful (the lookup cost per request)'],
  metrics: METRICS,

  plan(options) {
    const cells: CellPlan[] = []
    for (const strategy of options.strategies) {
      const def = STRATEGIES[strategy]
      const jwtFamily = def.family === 'jwt'
      for (const profile of options.profiles) {
        if (!def.profiles.includes(profile)) continue
        for (const alg of jwtFamily ? options.algs : (['HS256'] as const)) {
          cells.push({
            id: `throughput/${strategy}/${profile}/${alg}/x${options.instances}`,
            scenario: 'throughput',
            claims: this.claims,
            env: { strategy, profile, alg, instances: options.instances, balancer: options.balancer === 'none' ? 'none' : options.balancer },
          })
        }
      }
    }
    return cells
  },

  estimateRepeatSec(o) {
    const loginSec = o.users / 400
    return loginSec + 2 * o.warmupSec * (1 + (FIRST_WARMUP_FACTOR - 1) / o.repeats) + 0.5 + o.durationSec * 1.1
  },

  async runRepeat(ctx, env, _cell, index) {
    const { options, signal } = ctx
    const startedAt = new Date().toISOString()
    ctx.status(`logging in ${options.users} users`)
    const creds = await loginPopulation(env.urls, options.users, signal)
    const plans = {
      me: connectionPlans(env.urls, creds, options.connections, PATHS.me),
      health: connectionPlans(env.urls, creds, options.connections, PATHS.health),
    }
    ctx.status('warming up')
    // A fresh process (first repeat) still compiles its hot paths and fills its pools: warm it longer.
    const warmupSec = options.warmupSec * (index === 0 ? FIRST_WARMUP_FACTOR : 1)
    if (warmupSec > 0) {
      await runLoad({ connections: plans.me, durationSec: warmupSec, signal })
      await runLoad({ connections: plans.health, durationSec: warmupSec, signal })
    }

    // Exact bytes: every user once per path over a single connection, counted at the servers' sockets.
    ctx.status('counting bytes')
    const allUsers = (path: string) => connectionPlans(env.urls, creds, env.urls.length, path)
    const bytesOf = async (path: string) => {
      const before = await takeSample(env.instances, null)
      const load = await runLoad({ connections: allUsers(path), roundsPerConnection: 1, signal })
      return measureWindow(path, before, await takeSample(env.instances, null), load)
    }
    const meBytes = await bytesOf(PATHS.me)
    const healthBytes = await bytesOf(PATHS.health)

    const pairCount = Math.max(1, Math.round(options.durationSec / (2 * options.windowSec)))
    const pairs: WindowPair[] = []
    for (let p = 0; p < pairCount; p++) {
      if (signal.aborted) throw signal.reason
      ctx.status(`pair ${p + 1}/${pairCount}`)
      const order = p % 2 === 0 ? (['me', 'health'] as const) : (['health', 'me'] as const)
      const w: Partial<Record<'me' | 'health', WindowMeasurement>> = {}
      for (const which of order) {
        const before = await takeSample(env.instances, env.redisProbe)
        const load = await runLoad({ connections: plans[which], durationSec: options.windowSec, signal })
        w[which] = measureWindow(PATHS[which], before, await takeSample(env.instances, env.redisProbe), load)
      }
      const [meCpu, healthCpu] = [w.me!.serverCpuMicrosPerRequest, w.health!.serverCpuMicrosPerRequest]
      pairs.push({ me: w.me!, health: w.health!, cpuRatio: meCpu !== null && healthCpu ? meCpu / healthCpu : null })
    }
    const after = await Promise.all(env.instances.map((i) => i.stats()))
    return {
      kind: 'throughput',
      index,
      startedAt,
      loginCount: creds.length,
      bytes: {
        requestsPerPath: creds.length,
        meRequestBytes: meBytes.requestBytesPerRequest,
        meResponseBytes: meBytes.responseBytesPerRequest,
        healthRequestBytes: healthBytes.requestBytesPerRequest,
        healthResponseBytes: healthBytes.responseBytesPerRequest,
      },
      pairs,
      memoryAfter: after.map((s) => ({ rssBytes: s.rssBytes, heapUsedBytes: s.heapUsedBytes })),
      redisUsedMemoryBytes: env.redisProbe ? (await readRedisInfo(env.redisProbe)).usedMemoryBytes : null,
    } satisfies ThroughputRepeat
  },

  summarize(repeats) {
    return summarizeThroughput(repeats)
  },
}

/** Pure: medians and 95 % CIs over every pair of every repeat. */
export function summarizeThroughput(all: readonly RepeatResult[]): ThroughputSummary {
  const repeats = all.filter((r): r is ThroughputRepeat => r.kind === 'throughput')
  const pairs = repeats.flatMap((r) => r.pairs)
  const windows = pairs.flatMap((p) => [p.me, p.health])
  const of = (f: (p: WindowPair) => number | null) => estimate(pairs.map(f).filter((x): x is number => x !== null))
  const reqBytes = repeats.map((r) => r.bytes.meRequestBytes)
  const known = (xs: Array<number | null>) => xs.filter((x): x is number => x !== null)
  return {
    kind: 'throughput',
    cpuRatio: of((p) => p.cpuRatio),
    meCpuMicrosPerRequest: of((p) => p.me.serverCpuMicrosPerRequest),
    healthCpuMicrosPerRequest: of((p) => p.health.serverCpuMicrosPerRequest),
    meRequestsPerSec: of((p) => p.me.requestsPerSec),
    healthRequestsPerSec: of((p) => p.health.requestsPerSec),
    meLatencyP50Ms: of((p) => p.me.latencyMs.p50),
    meLatencyP99Ms: of((p) => p.me.latencyMs.p99),
    meRequestBytes: estimate(known(reqBytes)),
    meResponseBytes: estimate(known(repeats.map((r) => r.bytes.meResponseBytes))),
    redisCommandsPerRequest: of((p) => p.me.redisCommandsPerRequest),
    redisCpuMicrosPerRequest: of((p) => p.me.redisCpuMicrosPerRequest),
    requestBytesStable: reqBytes.every((b) => b === reqBytes[0]),
    saturatedWindowShare: windows.length ? windows.filter((w) => w.generatorSaturated).length / windows.length : 0,
    non2xx: windows.reduce((n, w) => n + w.non2xx, 0),
    errors: windows.reduce((n, w) => n + w.errors, 0),
  }
}
