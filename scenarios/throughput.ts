import { availableParallelism } from 'node:os'
import { openGenerator } from '../harness/load/load.ts'
import { serverCoresWith } from '../harness/processes/placement.ts'
import { readRedisInfo } from '../harness/measure/probes.ts'
import type { BenchOptions } from '../harness/run/options.ts'
import type { CellPlan, ChartDecl, CurveDecl, MetricDecl, MetricNameOf, Scenario } from '../harness/run/scenario.ts'
import { CI_TARGET_REL } from '../harness/measure/stats.ts'
import type { ThroughputRepeat, VerifyCacheRegime } from '../harness/results/results.ts'
import type { StrategyName } from '../servers/config.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { VERIFY_CACHE_ENTRIES } from '../servers/strategies/jwt-common.ts'
import { chooseHeadlineLevel, levelLoad, summarizeThroughput, throughputWarnings } from './throughput-summary.ts'
import { estimateRepeatSec, levelOrder } from './throughput-time.ts'
import { measureLevels, preparePopulation, runCrossCheck, warmUp } from './throughput-windows.ts'

export { chooseHeadlineLevel, CROSS_CHECK_TOLERANCE_REL, GENERATOR_ADVICE, levelLoad, RPS_CV_FLAG, summarizeThroughput, throughputWarnings, type HeadlineChoice, type LevelLoad } from './throughput-summary.ts'
export { CROSS_CHECK_ROUNDS, levelOrder, pairsPerLevel, populationUsable } from './throughput-time.ts'
export { REWARM_MAX_SLICES, REWARM_STEADY_SHARE, warmEnough } from './throughput-windows.ts'

/** Entries of the JWT strategies' verified-token cache (`tuned` and `floor` profiles). */
export const JWT_VERIFY_CACHE_ENTRIES = VERIFY_CACHE_ENTRIES

/** What this scenario reports (units and directions: see MetricDecl). */
export const METRICS = [
  { name: 'cpuRatio', label: 'CPU /me ÷ /health', unit: 'ratio', meaning: 'server CPU per /me request over the same per /health request, measured in alternating windows on one instance, at the headline concurrency level (headlineConnections; every level: levels)', better: 'lower', headline: true },
  { name: 'meCpuMicrosPerRequest', label: 'CPU per /me', unit: 'µs/req', meaning: 'server CPU time (user + system, all instances) per answered /me request', better: 'lower', headline: true },
  { name: 'healthCpuMicrosPerRequest', label: 'CPU per /health', unit: 'µs/req', meaning: 'the same for the /health baseline (served at /hc, as long as /me): identical request bytes, no auth work', better: 'lower' },
  { name: 'meRequestsPerSec', label: '/me throughput', unit: 'req/s', meaning: 'requests per second answered in the /me windows (weather on a shared machine: compare ratios)', better: 'higher' },
  { name: 'meLatencyP50Ms', label: '/me latency p50', unit: 'ms', meaning: 'closed-loop latency: includes queueing at the server', better: 'lower' },
  { name: 'meLatencyP99Ms', label: '/me latency p99', unit: 'ms', meaning: 'closed-loop latency: includes queueing at the server', better: 'lower' },
  { name: 'meRequestBytes', label: '/me request', unit: 'B', meaning: 'bytes of one /me request, counted at the server socket', better: 'lower' },
  { name: 'redisCommandsPerRequest', label: 'Redis commands', unit: 'cmd/req', meaning: 'Redis commands per /me request (INFO deltas)', better: 'lower' },
  { name: 'redisCpuMicrosPerRequest', label: 'Redis CPU', unit: 'µs/req', meaning: 'Redis CPU time per /me request (INFO deltas)', better: 'lower' },
] as const satisfies readonly MetricDecl[]

/** The report's charts of this scenario. */
const CHARTS: ReadonlyArray<ChartDecl<MetricNameOf<typeof METRICS>>> = [
  { title: 'Server CPU per request: /me beside the /health baseline', yTitle: 'server CPU per request (µs/req)', series: [{ metric: 'meCpuMicrosPerRequest', group: '/me' }, { metric: 'healthCpuMicrosPerRequest', group: '/health (baseline)' }] },
  { title: 'Auth cost as a ratio to the baseline (/me ÷ /health CPU, 95 % CI)', series: [{ metric: 'cpuRatio' }], rule: { y: 1, label: '/health = 1' } },
  { title: 'Redis commands per /me request', series: [{ metric: 'redisCommandsPerRequest' }] },
]
const CONNECTIONS_AXIS = 'connections (closed loop, log scale)'
const CURVES: readonly CurveDecl[] = [
  { title: 'Auth cost against concurrency (/me ÷ baseline CPU, 95 % CI)', xTitle: CONNECTIONS_AXIS, yTitle: 'CPU /me ÷ baseline (ratio)', metric: 'cpuRatio', rule: { y: 1, label: 'baseline = 1' } },
  { title: 'Server CPU utilisation in the /me windows: where the server saturates', xTitle: CONNECTIONS_AXIS, yTitle: 'server CPU (share of one core)', metric: 'meServerCpuShare', rule: { y: 1, label: 'one core' } },
  { title: 'Redis commands per /me request against concurrency', xTitle: CONNECTIONS_AXIS, yTitle: 'Redis commands (cmd/req)', metric: 'redisCommandsPerRequest' },
  { title: '/me latency p99 against concurrency (closed loop: includes queueing)', xTitle: CONNECTIONS_AXIS, yTitle: '/me latency p99 (ms)', metric: 'meLatencyP99Ms' },
]

/**
 * throughput — GET /me per strategy against GET /health on the same instance, at every concurrency
 * level of `--connections`: for Redis-backed strategies the cost per request is a curve against load
 * (ioredis auto-pipelining batches more commands per round trip as more requests are in flight).
 * A cell's first repeat logs a population in (unmeasured), warms up at the highest level and then at
 * every other, and counts the exact bytes of one request per user at the servers' sockets; the later
 * repeats, interleaved with the other cells' minutes apart, reuse that population while its
 * credentials stay valid and warm up until their cost stops falling. Every repeat then measures, at each level, /me and
 * /health in alternating short windows (me-health, health-me, …) so that every CPU ratio comes from a
 * pair measured a second apart. Levels run in ascending order in even repeats, descending in odd ones.
 * With --cross-check, one repeat ends with a short measurement by the other load generator.
 */
export const throughput: Scenario = {
  name: 'throughput',
  description: 'GET /me per strategy against the GET /health baseline at several concurrency levels: requests/s, latency, server CPU per request and its ratio to the baseline, server utilisation',
  claims: ['JWT "scales better" (per-request cost)', 'sessions are stateful (the lookup cost per request)'],
  metrics: METRICS,
  targetMode: 'stats-optional',
  shardable: true,
  charts: CHARTS,
  curves: CURVES,
  // spend repeats where the noise is: a cell whose ratio CI is already within ±5 % after six stops there
  // (six, not five: with one repeat trimmed from each end, five leave t on two degrees of freedom, 4.3)
  adaptiveRepeats: { min: 6, precise: (s) => s.kind === 'throughput' && s.cpuRatio?.ciHalfWidthRel != null && s.cpuRatio.ciHalfWidthRel <= CI_TARGET_REL },
  warnings: throughputWarnings,
  withMechanismLoops: true,

  plan(options) {
    const cells: CellPlan[] = []
    for (const strategy of options.strategies) {
      const def = STRATEGIES[strategy]
      const jwtFamily = def.family === 'jwt'
      for (const profile of options.profiles) {
        if (!def.profiles.includes(profile)) continue
        for (const alg of jwtFamily ? options.algs : (['HS256'] as const)) {
          for (const instances of sweepOf(options)) {
            const sweep = options.instanceSweep.length > 0
            const skipReason = sweep ? coresMissing(instances, undefined, options.generatorProcesses) : undefined
            cells.push({
              id: `throughput/${strategy}/${profile}/${alg}/x${instances}`,
              scenario: 'throughput',
              claims: this.claims,
              env: { strategy, profile, alg, instances, balancer: options.balancer === 'none' ? 'none' : options.balancer, ...(sweep ? { corePerInstance: true } : {}) },
              ...(skipReason ? { skipReason } : {}),
            })
          }
        }
      }
    }
    return cells
  },

  estimateRepeatSec(o, cell) {
    return estimateRepeatSec(o, this.repeats?.(o) ?? o.repeats, cell)
  },

  async runRepeat(ctx, env, cell, index) {
    const { options, signal } = ctx
    const startedAt = new Date().toISOString()
    const generator = openGenerator(options.generator, options.generatorProcesses) // wrk missing: the cell fails with that one line
    try {
      const population = await preparePopulation(ctx, env, cell)
      const { creds, plansAt, bytes: [meBytes, healthBytes] } = population
      const order = levelOrder(options.connectionLevels, index)
      ctx.status('warming up')
      const rewarmCpuMicrosPerRequest = await warmUp(env, options, generator, plansAt, order[0]!, index, signal)
      const { levels, speed } = await measureLevels(ctx, env, generator, plansAt, order)
      const headline = chooseHeadlineLevel(levels.map((l) => levelLoad(l.connections, [l.pairs])))!
      const crossCheck = options.crossCheck && index === crossCheckRepeat(this, options)
        ? await runCrossCheck(env, options, generator, plansAt, headline.connections, signal, ctx.status)
        : undefined
      const after = await Promise.all(env.instances.map((i) => i.stats()))
      return {
        kind: 'throughput',
        index,
        startedAt,
        loginCount: creds.length,
        populationLoggedIn: population.loggedInNow,
        ...(rewarmCpuMicrosPerRequest?.length ? { rewarmCpuMicrosPerRequest } : {}),
        ...(speed.length ? { hostSpeed: { serverCore: speed.map((x) => x.serverCore), generatorCore: speed.map((x) => x.generatorCore) } } : {}),
        bytes: {
          requestsPerPath: creds.length,
          meRequestBytes: meBytes.requestBytesPerRequest,
          meResponseBytes: meBytes.responseBytesPerRequest,
          healthRequestBytes: healthBytes.requestBytesPerRequest,
          healthResponseBytes: healthBytes.responseBytesPerRequest,
        },
        pairs: levels.find((l) => l.connections === headline.connections)!.pairs,
        generator: generator.name,
        levels,
        headlineConnections: headline.connections,
        verifyCacheRegime: verifyCacheRegime(cell.env.strategy, cell.env.profile, creds.length),
        ...(crossCheck ? { crossCheck } : {}),
        memoryAfter: after.map((s) => ({ rssBytes: s.rssBytes, heapUsedBytes: s.heapUsedBytes })),
        redisUsedMemoryBytes: env.redisProbe ? (await readRedisInfo(env.redisProbe)).usedMemoryBytes : null,
      } satisfies ThroughputRepeat
    } finally {
      generator.close()
    }
  },

  summarize(repeats) {
    return summarizeThroughput(repeats)
  },
}

/**
 * The repeat that ends with the cross-check: the last one every cell is sure to run (with adaptive
 * repeats a precise cell may stop after `min`), so that each cell gets exactly one.
 */
export function crossCheckRepeat(scenario: Pick<Scenario, 'adaptiveRepeats' | 'repeats'>, o: Readonly<BenchOptions>): number {
  const repeats = scenario.repeats?.(o) ?? o.repeats
  return Math.min(repeats, scenario.adaptiveRepeats?.min ?? repeats) - 1
}

/** The JWT verify-cache regime of a cell: `tuned` and `floor` JWT strategies cache verified tokens (fast-jwt's LRU; `defaults` does not). */
export function verifyCacheRegime(strategy: StrategyName, profile: string, population: number): VerifyCacheRegime | null {
  if (STRATEGIES[strategy].family !== 'jwt' || profile === 'defaults') return null
  return population <= JWT_VERIFY_CACHE_ENTRIES ? 'hit-dominated' : 'miss-dominated'
}

/** The instance counts of the throughput cells: the sweep, or the one count. */
const sweepOf = (o: Readonly<BenchOptions>) => (o.instanceSweep.length > 0 ? o.instanceSweep : [o.instances])

/**
 * Why this machine cannot run a sweep level of `instances`, one server core each (the servers' cores of
 * the CPU placement: on 2 cores, core 1; on more, all but the generators' and Redis's). Undefined where it can.
 */
export function coresMissing(instances: number, cores = availableParallelism(), generators = 1): string | undefined {
  const serverCores = Math.max(1, serverCoresWith(generators, cores))
  const others = generators === 1 ? 'the load generator' : `${generators} load generator processes`
  return instances > serverCores
    ? `${instances} instances need ${instances} server cores, one each; this machine has ${serverCores} (of ${cores}: the others run ${others} and Redis)`
    : undefined
}
