import { JWT_ALGORITHMS, PROFILES, STRATEGY_NAMES, type JwtAlgorithm, type Profile, type StrategyName } from '../../servers/config.ts'
import { STRATEGIES } from '../../servers/strategies/index.ts'

/** Every benchmark option, with its unit and default. */
export interface BenchOptions {
  /** Strategies to measure; default all seven. */
  strategies: StrategyName[]
  /** Scenarios to run; default all registered. */
  scenarios: string[]
  /** Library profiles; default `tuned`. A strategy without a listed profile skips it. */
  profiles: Profile[]
  /** JWT algorithms for the JWT family; default HS256. */
  algs: JwtAlgorithm[]
  /** Measured load per cell and repeat, split over the concurrency levels into alternating /me and baseline windows. Default 3 s: one pair per level. */
  durationSec: number
  /** Length of one measurement window. Default 0.5 s. */
  windowSec: number
  /** Unmeasured load per path before measuring (×3 on a cell's first repeat). Default 0.5 s. */
  warmupSec: number
  /** Concurrent connections of the closed-loop load in every scenario but throughput's sweep. Default 10. */
  connections: number
  /**
   * Concurrency levels of the throughput sweep (`--connections 1,10,64`): cost per request is a curve
   * against load for Redis-backed strategies (auto-pipelining batches more as concurrency grows).
   * Default 1, 10, 64; `--quick`: 10.
   */
  connectionLevels: number[]
  /** autocannon processes that drive each throughput window together, merged exactly (`--generator-processes`); default 1. */
  generatorProcesses: number
  /** Load generator of the throughput measurement: autocannon (default) or wrk (Debian's `wrk`). */
  generator: 'autocannon' | 'wrk'
  /** After each throughput cell, a short alternating-window measurement with the other generator, flagged when the ratios differ > 10 %. */
  crossCheck: boolean
  /** Server instances per cell. Default 1. */
  instances: number
  /** Repeats per throughput cell, interleaved across cells (A B C A B C …), the units of its CIs; adaptive: a cell precise after 6 stops. Default 8. */
  repeats: number
  /** Repeats per cell of the other scenarios (request-size always 1: bytes are exact). Default 1, to fit the suite in 10 minutes. */
  metricsRepeats: number
  /** Distinct logged-in users the load cycles through. Default 2000: twice fast-jwt's 1 000-entry verify cache, so JWT cells measure verification, not cache hits (--users 500 for the hit-dominated regime). */
  users: number
  /** Load balancer in front of several instances; `none` = autocannon's multi-URL round robin. Default auto. */
  balancer: 'auto' | 'haproxy' | 'nginx' | 'none'
  /** Pin generator and servers to disjoint cores with taskset. Default true. */
  pin: boolean
  /** Folder that receives `<date>-<time>-<sha>/results.json`. Default `results`. */
  out: string
  /** Smoke run of the whole suite (short windows, one repeat). */
  quick: boolean
  /**
   * Target mode: servers the harness did not start — one balancer URL or several instance URLs (in
   * the instances' order); empty (the default): the harness starts its own.
   */
  targets: string[]
  /** The targets' stats endpoints (each instance's `--stats-port`), for server-side figures; read with AUTHBENCH_STATS_TOKEN or the token derived from AUTHBENCH_SECRET. */
  targetStats: string[]
  /**
   * This run is shard `index` of `count` load generators (`--shard i/n`, target mode): its share of the
   * users and of every level's connections, every measured window started together with the other
   * shards' (a rendezvous on AUTHBENCH_RENDEZVOUS_URL); `npm run merge` joins the shards' run folders.
   */
  shard: { index: number; count: number } | null
  /** What the shards of one run share (`--run-id`): the rendezvous keys and the merge's check. */
  runId: string | null
  /**
   * A scale-out sweep of the throughput cells (`--instances 1,2,4,8`): one cell per instance count,
   * each instance on a core of its own, behind the balancer. Empty: one count, `instances`.
   */
  instanceSweep: number[]
  /**
   * `--calibrate [µs]`: plant a busy loop of about this many µs of CPU in one strategy's GET /me and
   * measure it against the same server without it (scenarios/calibration.ts); 'auto' (`--calibrate`
   * alone): about 6 % of that server's CPU per /me, measured in a pilot first; null: no calibration.
   */
  calibrateMicros: number | 'auto' | null
  /** `--baseline <git ref or folder>`: measure that version's servers beside this checkout's in one run (scenarios/ab.ts); null: none. */
  baseline: string | null
  /** The baseline's server bundle and the commit it was built from, resolved before the run (harness/processes/baseline.ts). */
  baselineBundle: string | null
  baselineCommit: string | null
}

export const BENCH_DEFAULTS: Readonly<BenchOptions> = Object.freeze<BenchOptions>({
  strategies: [...STRATEGY_NAMES],
  targets: [],
  targetStats: [],
  shard: null,
  runId: null,
  instanceSweep: [],
  calibrateMicros: null,
  baseline: null,
  baselineBundle: null,
  baselineCommit: null,
  generatorProcesses: 1,
  scenarios: [],
  profiles: ['tuned'],
  algs: ['HS256'],
  durationSec: 3,
  windowSec: 0.5,
  warmupSec: 0.5,
  connections: 10,
  connectionLevels: [1, 10, 64],
  generator: 'autocannon',
  crossCheck: false,
  instances: 1,
  repeats: 8,
  metricsRepeats: 1,
  users: 2000,
  balancer: 'auto',
  pin: true,
  out: 'results',
  quick: false,
})

/**
 * What `--quick` changes (each can still be overridden explicitly): every scenario on every strategy,
 * briefly — a smoke run whose CIs may be wide (it says so).
 */
export const QUICK_OVERRIDES: Readonly<Partial<BenchOptions>> = Object.freeze<Partial<BenchOptions>>({
  // two alternating pairs of 0.2 s windows per cell
  durationSec: 0.8,
  windowSec: 0.2,
  warmupSec: 0.15,
  repeats: 1,
  users: 200,
  connectionLevels: [10],
})

export class OptionError extends Error {
  override name = 'OptionError'
}

/** Applies defaults, then quick overrides, then what the user gave; validates; returns a new frozen object. */
export function resolveBenchOptions(given: Partial<BenchOptions>, scenarioNames: readonly string[]): Readonly<BenchOptions> {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<BenchOptions>
  const o: BenchOptions = { ...BENCH_DEFAULTS, ...(defined.quick ? QUICK_OVERRIDES : {}), ...defined }
  if (o.scenarios.length === 0) o.scenarios = [...scenarioNames]
  // --calibrate runs its scenario whatever --scenarios says; --baseline runs ab, and only ab unless --scenarios names others
  if (o.calibrateMicros !== null && scenarioNames.includes('calibration') && !o.scenarios.includes('calibration')) o.scenarios = [...o.scenarios, 'calibration']
  if (o.baseline !== null && scenarioNames.includes('ab')) o.scenarios = defined.scenarios?.length ? [...new Set([...o.scenarios, 'ab'])] : ['ab', ...(o.calibrateMicros !== null ? ['calibration'] : [])]
  const known = <T extends string>(what: string, xs: readonly string[], allowed: readonly T[]) => {
    for (const x of xs) if (!(allowed as readonly string[]).includes(x)) throw new OptionError(`unknown ${what} '${x}' (expected: ${allowed.join(', ')})`)
    if (xs.length === 0) throw new OptionError(`no ${what} given`)
  }
  known('strategy', o.strategies, Object.keys(STRATEGIES))
  known('scenario', o.scenarios, scenarioNames)
  known('profile', o.profiles, PROFILES)
  known('algorithm', o.algs, JWT_ALGORITHMS)
  const num = (name: string, v: number, min: number, max: number, integer = false) => {
    if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      throw new OptionError(`--${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}, got '${v}'`)
    }
  }
  num('duration', o.durationSec, 0.1, 3600)
  num('window', o.windowSec, 0.05, 60)
  num('warmup', o.warmupSec, 0, 600)
  num('connections', o.connections, 1, 1000, true)
  if (o.connectionLevels.length === 0) throw new OptionError('no --connections level given')
  for (const c of o.connectionLevels) num('connections', c, 1, 1000, true)
  o.connectionLevels = [...new Set(o.connectionLevels)].sort((a, b) => a - b)
  if (!['autocannon', 'wrk'].includes(o.generator)) throw new OptionError(`unknown generator '${o.generator}' (expected: autocannon, wrk)`)
  num('instances', o.instances, 1, 32, true)
  num('generator-processes', o.generatorProcesses, 1, 64, true)
  if (o.generatorProcesses > 1 && o.generator !== 'autocannon') throw new OptionError('--generator-processes needs --generator autocannon (its latency histograms merge)')
  for (const n of o.instanceSweep) num('instances', n, 1, 64, true)
  o.instanceSweep = [...new Set(o.instanceSweep)].sort((a, b) => a - b)
  num('repeats', o.repeats, 1, 100, true)
  num('metrics-repeats', o.metricsRepeats, 1, 100, true)
  num('users', o.users, 1, 1_000_000, true)
  if (typeof o.calibrateMicros === 'number') num('calibrate', o.calibrateMicros, 0.5, 1000)
  if (!['auto', 'haproxy', 'nginx', 'none'].includes(o.balancer)) throw new OptionError(`unknown balancer '${o.balancer}' (expected: auto, haproxy, nginx, none)`)
  checkTargets(o)
  checkShard(o)
  return Object.freeze(o)
}

/** Shards: target mode, autocannon (its histograms merge), every level and the users at least one per shard, a run id to meet on. */
function checkShard(o: BenchOptions): void {
  const s = o.shard
  if (s === null) return
  if (!Number.isInteger(s.count) || !Number.isInteger(s.index) || s.count < 1 || s.index < 0 || s.index >= s.count) throw new OptionError(`--shard must be i/n with 0 ≤ i < n, got ${s.index}/${s.count}`)
  if (o.targets.length === 0) throw new OptionError('--shard needs --target: shards load servers they share, started apart from any one of them')
  if (o.generator !== 'autocannon') throw new OptionError('--shard needs --generator autocannon: its latency histograms merge exactly, wrk keeps only percentiles')
  if (o.crossCheck) throw new OptionError('--shard and --cross-check do not go together')
  const low = Math.min(...o.connectionLevels)
  if (low < s.count || o.users < s.count) throw new OptionError(`--shard ${s.index}/${s.count}: every --connections level and --users must be at least ${s.count}, one per shard (got ${low} and ${o.users})`)
  if (s.count > 1 && (o.runId === null || !/^[A-Za-z0-9._-]{1,64}$/.test(o.runId))) throw new OptionError('--shard with n > 1 needs --run-id <id> (letters, digits, . _ -), the same for every shard of the run')
}

/** Shard `index` of `count`'s part of `total` (users, connections): the first `total mod count` shards take one more. */
export function shareOf(total: number, s: { index: number; count: number } | null): number {
  if (s === null) return total
  return Math.floor(total / s.count) + (s.index < total % s.count ? 1 : 0)
}

/** How many of `total` the shards before `s` take: where its part starts. */
export function offsetOf(total: number, s: { index: number; count: number } | null): number {
  if (s === null) return 0
  return s.index * Math.floor(total / s.count) + Math.min(s.index, total % s.count)
}

/** Target mode's options: http(s) origins, and one strategy, profile and algorithm (what the targets run). */
function checkTargets(o: BenchOptions): void {
  for (const [flag, urls] of [['--target', o.targets], ['--target-stats', o.targetStats]] as const) {
    for (const u of urls) {
      let url: URL
      try { url = new URL(u) } catch { throw new OptionError(`${flag}: '${u}' is not a URL (e.g. http://10.0.0.5:3000)`) }
      const protocols = flag === '--target-stats' ? ['http:', 'https:', 'dns+http:'] : ['http:', 'https:']
      if (!protocols.includes(url.protocol) || url.username || url.password || url.search || url.hash) throw new OptionError(`${flag}: '${u}' must be a plain ${protocols.join(' or ')} URL without credentials or query`)
    }
  }
  o.targets = o.targets.map((u) => u.replace(/\/+$/, ''))
  o.targetStats = o.targetStats.map((u) => u.replace(/\/+$/, ''))
  if (o.targets.length === 0) {
    if (o.targetStats.length > 0) throw new OptionError('--target-stats needs --target')
    return
  }
  const one = (what: string, xs: readonly string[]) => {
    if (xs.length !== 1) throw new OptionError(`--target: name the one ${what} the targets run (got ${xs.join(', ')})`)
  }
  one('strategy (--strategies)', o.strategies)
  one('profile (--profile)', o.profiles)
  one('algorithm (--alg)', o.algs)
}
