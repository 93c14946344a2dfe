import { openGenerator, runLoad, type ConnectionPlan, type LoadGenerator } from '../harness/load/load.ts'
import type { BenchOptions } from '../harness/run/options.ts'
import type { CellEnv } from '../harness/processes/orchestrator.ts'
import { probeHostSpeed } from '../harness/measure/host-speed.ts'
import { connectionPlans, loginPopulation, type IssuedCredential } from '../harness/load/population.ts'
import { measureAround, readRedisInfo } from '../harness/measure/probes.ts'
import type { CrossCheckRepeat, LoadGeneratorName, ThroughputLevel, ThroughputRepeat, VerifyCacheRegime, WindowMeasurement, WindowPair } from '../harness/results/results.ts'
import { CI_TARGET_REL } from '../harness/measure/stats.ts'
import { WrkUnavailableError } from '../harness/load/wrk.ts'
import { BASELINE_PATH } from '../servers/app.ts'
import { SERVER_DEFAULTS, type StrategyName } from '../servers/config.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { VERIFY_CACHE_ENTRIES } from '../servers/strategies/jwt-common.ts'
import type { CellPlan, MetricDecl, Scenario } from '../harness/run/scenario.ts'
import { chooseHeadlineLevel, levelLoad, summarizeThroughput, throughputWarnings } from './throughput-summary.ts'

export { chooseHeadlineLevel, CROSS_CHECK_TOLERANCE_REL, GENERATOR_ADVICE, levelLoad, RPS_CV_FLAG, summarizeThroughput, throughputWarnings, type HeadlineChoice, type LevelLoad } from './throughput-summary.ts'

// the /health baseline on a path as long as /me: a baseline request carries exactly the same bytes
const PATHS = { me: '/me', health: BASELINE_PATH } as const
const FIRST_WARMUP_FACTOR = 3
const firstWarmupFactor = (o: Readonly<BenchOptions>) => (o.quick ? 1 : FIRST_WARMUP_FACTOR)
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

  estimateRepeatSec(o, cell) {
    // the average repeat of a cell: the first logs its population in, counts bytes and warms every level
    // up; the later ones reuse them (refresh's short-lived tokens: a new login about every other repeat)
    const repeats = this.repeats?.(o) ?? o.repeats
    const top = Math.max(...o.connectionLevels)
    const first = firstWarmupFactor(o) * o.warmupSec
    const warmSec = (c: number, sec: number) => (sec > 0 ? 2 * (sec + windowOverheadSec(o.generator, c)) : 0)
    const firstWarmupSec = warmSec(top, first) + o.connectionLevels.filter((c) => c !== top).reduce((t, c) => t + warmSec(c, o.warmupSec), 0)
    const slice = (c: number) => o.warmupSec * REWARM_SHARE + windowOverheadSec(o.generator, c)
    const laterWarmupSec = o.warmupSec > 0 ? (REWARM_TYPICAL_SLICES + 1) * slice(o.connectionLevels[0]!) : 0
    const loginSec = LOGIN_FIXED_SEC + o.users / LOGINS_PER_SEC + (2 * o.users) / CALIBRATION_REQUESTS_PER_SEC
    // a population outlives the scenario (minutes) unless its credentials do not: refresh's 60 s tokens
    const logins = cell && credentialLifetimeSec(cell.env.strategy) < 600 ? Math.ceil(repeats / 2) : 1
    const other = o.generator === 'wrk' ? 'autocannon' : 'wrk'
    // the cross-check runs once per cell, at (usually) the highest level
    const crossCheckSec = o.crossCheck ? CROSS_CHECK_ROUNDS * 2 * (2 * o.windowSec + windowOverheadSec(other, top) + windowOverheadSec(o.generator, top)) : 0
    const cellSec = firstWarmupSec + (repeats - 1) * laterWarmupSec + logins * loginSec + crossCheckSec
    return REPEAT_FIXED_SEC + levelsSec(o) + cellSec / repeats
  },

  async runRepeat(ctx, env, cell, index) {
    const { options, signal } = ctx
    const startedAt = new Date().toISOString()
    const generator = openGenerator(options.generator) // wrk missing: the cell fails with that one line
    try {
      // the cell's population, logged in by an earlier repeat on these processes while it is young enough
      const earlier = POPULATIONS.get(env)
      const reuse = earlier !== undefined && populationUsable(cell.env.strategy, (Date.now() - earlier.loggedInAtMs) / 1000, measuredRepeatSec(options))
      if (!reuse) ctx.status(`logging in ${options.users} users`)
      const loggedInAtMs = reuse ? earlier.loggedInAtMs : Date.now()
      const creds = reuse ? earlier.creds : await loginPopulation(env.urls, options.users, signal)
      const plansAt = reuse ? earlier.plansAt : planCache(env.urls, creds)
      const order = levelOrder(options.connectionLevels, index)
      const top = Math.max(...options.connectionLevels)
      ctx.status('warming up')
      // [connections, seconds per path]. A fresh process (first repeat) still compiles its hot paths and
      // fills its pools: warm it longer at the highest level (not in --quick, a smoke run: there the
      // warm-up is short, and the report says CIs may be wide), then at every other level once: the
      // first windows at 1 connection of a process warmed at 64 cost 10–100 % more (code paths only low
      // concurrency takes, e.g. a Redis command sent alone, compiled then), measured as a first-repeat
      // bias before this. A later repeat finds its process compiled but idle since its last repeat
      // (other cells ran): it is warmed at the level it measures first until its cost stops falling (`rewarm`).
      const warm: Array<readonly [number, number]> = options.warmupSec <= 0 || index > 0 ? []
        : [[top, options.warmupSec * firstWarmupFactor(options)], ...options.connectionLevels.filter((c) => c !== top).map((c) => [c, options.warmupSec] as const)]
      for (const [c, sec] of warm) {
        await generator.run(plansAt(c, 'me'), sec, signal)
        await generator.run(plansAt(c, 'health'), sec, signal)
      }
      const rewarmCpuMicrosPerRequest = index > 0 && options.warmupSec > 0
        ? await rewarm(env, generator, { me: plansAt(order[0]!, 'me'), health: plansAt(order[0]!, 'health') }, options.warmupSec * REWARM_SHARE, signal)
        : undefined

      // Exact bytes: every user once per path, counted at the servers' sockets (any generator sends the same bytes).
      if (!reuse) ctx.status('counting bytes')
      const bytesOf = async (path: string) => {
        return measureAround(env.instances, null, path, () => runLoad({ connections: connectionPlans(env.urls, creds, env.urls.length * CALIBRATION_CONNECTIONS_PER_URL, path), roundsPerConnection: 1, signal }))
      }
      const [meBytes, healthBytes] = reuse ? earlier.bytes : [await bytesOf(PATHS.me), await bytesOf(PATHS.health)]
      if (!reuse) POPULATIONS.set(env, { creds, plansAt, loggedInAtMs, bytes: [meBytes, healthBytes] })

      const count = pairsPerLevel(options)
      const levels: ThroughputLevel[] = []
      // the host's own speed on both cores before each level's windows and after the last (harness/measure/host-speed.ts)
      const speed = [await probeHostSpeed(env.instances)]
      for (const connections of order) {
        const plans = { me: plansAt(connections, 'me'), health: plansAt(connections, 'health') }
        if (levels.some((l) => l.connections === plans.me.length)) continue // a population smaller than two levels: measured once
        if (levels.length > 0) speed.push(await probeHostSpeed(env.instances))
        const pairs = await measurePairs(env, generator, plans, count, options.windowSec, signal, (p) => ctx.status(`${connections} conn.: pair ${p}/${count}`))
        levels.push({ connections: plans.me.length, pairs })
      }
      speed.push(await probeHostSpeed(env.instances))
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
        populationLoggedIn: !reuse,
        ...(rewarmCpuMicrosPerRequest?.length ? { rewarmCpuMicrosPerRequest } : {}),
        hostSpeed: { serverCore: speed.map((x) => x.serverCore), generatorCore: speed.map((x) => x.generatorCore) },
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
 * Time model of a repeat, fitted on the 2-core reference machine (`estimateRepeatSec` feeds the ETA
 * and `--plan`). Each window costs its length plus the generator's start and stop and the two
 * samples around it; autocannon starts one instance per URL, wrk a process and stops on its 100 ms tick.
 */
const REPEAT_FIXED_SEC = 0.15
const LOGIN_FIXED_SEC = 0.1
const LOGINS_PER_SEC = 1800
const CALIBRATION_CONNECTIONS_PER_URL = 8
const CALIBRATION_REQUESTS_PER_SEC = 6000
function windowOverheadSec(generator: LoadGeneratorName, connections: number): number {
  return generator === 'wrk' ? 0.03 : 0.03 + 0.0005 * connections
}
/** The measured windows of one repeat, every level. */
function levelsSec(o: Readonly<BenchOptions>): number {
  const pairs = pairsPerLevel(o)
  return o.connectionLevels.reduce((t, c) => t + pairs * 2 * (o.windowSec + windowOverheadSec(o.generator, c)), 0)
}
/** An upper bound of a repeat's length once its population is logged in: its windows, its warm-up, slack for samples and slow starts. */
function measuredRepeatSec(o: Readonly<BenchOptions>): number {
  return 1.5 * levelsSec(o) + 2 * o.warmupSec + 1
}

/**
 * The repeat that ends with the cross-check: the last one every cell is sure to run (with adaptive
 * repeats a precise cell may stop after `min`), so that each cell gets exactly one.
 */
export function crossCheckRepeat(scenario: Pick<Scenario, 'adaptiveRepeats' | 'repeats'>, o: Readonly<BenchOptions>): number {
  const repeats = scenario.repeats?.(o) ?? o.repeats
  return Math.min(repeats, scenario.adaptiveRepeats?.min ?? repeats) - 1
}

/** Alternating pairs per level: the measured time (durationSec) split evenly over the levels. */
export function pairsPerLevel(o: Pick<BenchOptions, 'durationSec' | 'windowSec' | 'connectionLevels'>): number {
  return Math.max(1, Math.round(o.durationSec / o.connectionLevels.length / (2 * o.windowSec)))
}

/** Ascending in even repeats, descending in odd ones, so that no level always runs on a process in the same state. */
export function levelOrder(levels: readonly number[], repeatIndex: number): number[] {
  const up = [...levels].sort((a, b) => a - b)
  return repeatIndex % 2 === 0 ? up : up.reverse()
}

/** The JWT verify-cache regime of a cell: `tuned` and `floor` JWT strategies cache verified tokens (fast-jwt's LRU; `defaults` does not). */
export function verifyCacheRegime(strategy: StrategyName, profile: string, population: number): VerifyCacheRegime | null {
  if (STRATEGIES[strategy].family !== 'jwt' || profile === 'defaults') return null
  return population <= JWT_VERIFY_CACHE_ENTRIES ? 'hit-dominated' : 'miss-dominated'
}

/** Connection plans per (connections, path), built once per repeat (wrk writes its request files once per plan set). */
function planCache(urls: readonly string[], creds: readonly IssuedCredential[]) {
  const cache = new Map<string, ConnectionPlan[]>()
  return (connections: number, which: keyof typeof PATHS): ConnectionPlan[] => {
    const key = `${connections} ${which}`
    let plans = cache.get(key)
    if (!plans) cache.set(key, (plans = connectionPlans(urls, creds, connections, PATHS[which])))
    return plans
  }
}

/** What a cell's first repeat prepared on its processes, for the later repeats: the population, its plans, its exact bytes. */
interface Population {
  creds: IssuedCredential[]
  plansAt: ReturnType<typeof planCache>
  loggedInAtMs: number
  bytes: [WindowMeasurement, WindowMeasurement]
}
const POPULATIONS = new WeakMap<CellEnv, Population>()
/** A later repeat's warm-up slice, as a share of --warmup. */
const REWARM_SHARE = 0.5
/** A later repeat's warm-up stops once a /me slice costs at least this share of the slice before it (it stopped falling)… */
export const REWARM_STEADY_SHARE = 0.95
/** …or after this many slices. */
export const REWARM_MAX_SLICES = 6
/** /me slices a later repeat's warm-up ran on average, measured (two throughput runs, 92 repeats: 3.3 and 3.2; 2–5 each), for the time model. */
const REWARM_TYPICAL_SLICES = 3.3

/**
 * A later repeat's warm-up: a process left idle while the other cells ran (≈ 20–30 s) pays for it in
 * its next load — measured on one server idle 20 s: its first 0.25 s /me window cost 93–206 µs per
 * request against ≈ 66 µs steady, its second up to 82 µs; idle 3–8 s, no such cost. (A plain CPU
 * loop idle 20 s runs 20–35 % slower for its first 0.25 s too: part of it is the host's.) A fixed
 * 0.25 s per path left a repeat's first /me window 10–25 % dear, every other repeat (the one that
 * starts at the level it warmed). So: /me in slices of `sliceSec` until one costs no less than
 * REWARM_STEADY_SHARE of the one before (at least two, at most REWARM_MAX_SLICES), then one /health
 * slice. Returns each /me slice's server CPU per request, µs, kept in the results.
 */
async function rewarm(env: CellEnv, generator: LoadGenerator, plans: Record<keyof typeof PATHS, ConnectionPlan[]>, sliceSec: number, signal: AbortSignal): Promise<number[]> {
  const costs: number[] = []
  for (let k = 0; k < REWARM_MAX_SLICES; k++) {
    const cost = (await measureAround(env.instances, null, PATHS.me, () => generator.run(plans.me, sliceSec, signal))).serverCpuMicrosPerRequest
    if (cost === null) break // nothing answered: the measured windows will say why
    costs.push(cost)
    if (warmEnough(costs)) break
  }
  await generator.run(plans.health, sliceSec, signal)
  return costs
}

/** Whether a warm-up's slice costs (µs per request, in order) have stopped falling: the last ≥ REWARM_STEADY_SHARE × the one before. */
export function warmEnough(costs: readonly number[]): boolean {
  if (costs.length < 2) return false
  return costs[costs.length - 1]! >= REWARM_STEADY_SHARE * costs[costs.length - 2]!
}

/**
 * Whether a population `ageSec` old still has its credentials valid through a repeat of `repeatSec`,
 * with a fifth of their lifetime to spare: the lifetime of what /me checks (refresh's access tokens
 * live 60 s, so its populations are logged in again every other repeat or so).
 */
export function populationUsable(strategy: StrategyName, ageSec: number, repeatSec: number): boolean {
  return ageSec + repeatSec < 0.8 * credentialLifetimeSec(strategy)
}

/** The lifetime of the credential /me checks, as the harness starts its servers (their defaults). */
function credentialLifetimeSec(strategy: StrategyName): number {
  const d = SERVER_DEFAULTS
  return strategy === 'refresh' ? d.refreshAccessTtlSec : STRATEGIES[strategy].family === 'jwt' ? d.jwtTtlSec : d.sessionTtlSec
}

/** `count` alternating pairs of /me and /health windows (me-health, health-me, …). */
async function measurePairs(env: CellEnv, generator: LoadGenerator, plans: Record<keyof typeof PATHS, ConnectionPlan[]>, count: number, windowSec: number, signal: AbortSignal, status: (pair: number) => void): Promise<WindowPair[]> {
  const pairs: WindowPair[] = []
  for (let p = 0; p < count; p++) {
    if (signal.aborted) throw signal.reason
    status(p + 1)
    const order = p % 2 === 0 ? (['me', 'health'] as const) : (['health', 'me'] as const)
    const w: Partial<Record<keyof typeof PATHS, WindowMeasurement>> = {}
    for (const which of order) {
      w[which] = await measureAround(env.instances, env.redisProbe, PATHS[which], () => generator.run(plans[which], windowSec, signal))
    }
    const [meCpu, healthCpu] = [w.me!.serverCpuMicrosPerRequest, w.health!.serverCpuMicrosPerRequest]
    pairs.push({ me: w.me!, health: w.health!, cpuRatio: meCpu !== null && healthCpu ? meCpu / healthCpu : null })
  }
  return pairs
}

/** The other generator's pairs at `connections`, or why it could not run (wrk not installed, several URLs). */
/**
 * Pairs per generator in a cross-check. They are measured in turn — a pair by one generator, a pair
 * by the other, the order turning each round — so that both ratios come from the same minutes: on
 * this machine repeats minutes apart differ by 10–30 %, which alone would fail a 10 % check.
 */
export const CROSS_CHECK_ROUNDS = 4

async function runCrossCheck(env: CellEnv, options: Readonly<BenchOptions>, primary: LoadGenerator, plansAt: ReturnType<typeof planCache>, connections: number, signal: AbortSignal, status: (s: string) => void): Promise<CrossCheckRepeat> {
  const other: LoadGeneratorName = options.generator === 'wrk' ? 'autocannon' : 'wrk'
  let generator: LoadGenerator | null = null
  try {
    generator = openGenerator(other)
    const plans = { me: plansAt(connections, 'me'), health: plansAt(connections, 'health') }
    const pairs: WindowPair[] = []
    const primaryPairs: WindowPair[] = []
    for (let round = 0; round < CROSS_CHECK_ROUNDS; round++) {
      const turns = [[generator, pairs], [primary, primaryPairs]] as const
      for (const [g, into] of round % 2 === 0 ? turns : [...turns].reverse()) {
        const [pair] = await measurePairs(env, g, plans, 1, options.windowSec, signal, () => status(`cross-check (${other} in turn with ${options.generator}): round ${round + 1}/${CROSS_CHECK_ROUNDS}`))
        into.push(pair!)
      }
    }
    return { state: 'measured', generator: other, connections, pairs, primaryPairs }
  } catch (err) {
    if (err instanceof WrkUnavailableError) return { state: 'skipped', generator: other, reason: err.message }
    throw err
  } finally {
    generator?.close()
  }
}
