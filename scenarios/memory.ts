import type { CellEnv, EnvSpec } from '../harness/processes/env-spec.ts'
import type { BenchOptions } from '../harness/run/options.ts'
import type { WindowMeasurement } from '../harness/results/results.ts'
import type { ClaimSet } from '../servers/config.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { connectionsClosed, loginPlans, measuredLoad, median, metricsRepeat, prefixMemoryBytes, profileFor, summarizeMetrics } from './common.ts'
import type { CellPlan, ChartDecl, MetricDecl, MetricNameOf, Scenario, ScenarioContext } from '../harness/run/scenario.ts'

/**
 * Live credentials at the first (`low`) and last (`high`) reading of the slope, readings between
 * them, and the logins added per claim set after them. The first `low` logins are the warm-up: what
 * a server allocates once (compiled code, caches, allocator pages) grows there, not between readings.
 */
export function memoryPopulation(quick: boolean): { low: number; high: number; readings: number; perClaimSet: number } {
  return quick ? { low: 500, high: 1500, readings: 5, perClaimSet: 250 } : { low: 2000, high: 5000, readings: 4, perClaimSet: 1000 }
}

/**
 * Theil–Sen slope: the median of the slopes between every two readings. One reading thrown off (V8
 * grows and shrinks some tables in steps of ≈ 250 KB) moves it far less than it moves the end-to-end slope.
 */
export function robustSlope(points: ReadonlyArray<{ x: number; y: number }>): number | null {
  const slopes: number[] = []
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const dx = points[j]!.x - points[i]!.x
      if (dx !== 0) slopes.push((points[j]!.y - points[i]!.y) / dx)
    }
  }
  return median(slopes)
}
/** Logins with the typical and with the large claim set before the first reading, so that their paths are warm too. */
const WARM_PER_CLAIM_SET = 50
/** Longest wait before a reading for the server to see the load's connections close (their buffers are not state). */
const SETTLE_MS = 100
/** Readings per claim-set segment, its first shared with the previous segment's last. */
const READINGS_PER_CLAIM_SET = 3
/**
 * Share of a repeat's time one cell adds to a scenario whose cells run side by side (--quick only),
 * measured on the 2-core machine: seven cells and their one shared control took 10.2–10.6 s.
 */
const SIDE_BY_SIDE_SHARE = 0.26
/** The stateless control every cell measures beside its strategy: the plain JWT keeps nothing per credential. */
const CONTROL = 'jwt'

/** Claim sets measured after the slope, with their metric suffix. */
const CLAIM_SEGMENTS: ReadonlyArray<{ claims: ClaimSet; suffix: string }> = [{ claims: 'typical', suffix: 'Typical' }, { claims: 'large', suffix: 'Large' }]

/** What this scenario reports (units and directions: see MetricDecl). */
export const METRICS = [
  { name: 'heapBytesPerCredentialAt*', label: 'heap per credential', unit: 'B/credential', meaning: 'server heap per live credential (small claims): slope of the heap after a forced GC over readings from the warm-up\'s end up to the suffix\'s population, minus the same slope on a stateless jwt control server', better: 'lower', headline: true },
  { name: 'redisBytesPerCredentialAt*', label: 'Redis per credential', unit: 'B/credential', meaning: 'Redis bytes per live credential (small claims): slope over the same readings, up to the suffix\'s population, of MEMORY USAGE summed over the cell\'s own keys (its prefix), so that other cells\' keys do not count', better: 'lower', headline: true },
  { name: 'heapBytesPerCredentialTypical', label: 'heap per credential, typical claims', unit: 'B/credential', meaning: 'the same slope, net of the control, for logins carrying the typical claim set (≈ 8 claims)', better: 'lower' },
  { name: 'heapBytesPerCredentialLarge', label: 'heap per credential, large claims', unit: 'B/credential', meaning: 'the same slope, net of the control, for logins carrying the large claim set (+ 50 permissions)', better: 'lower' },
  { name: 'redisBytesPerCredentialTypical', label: 'Redis per credential, typical claims', unit: 'B/credential', meaning: 'the same Redis slope for logins carrying the typical claim set', better: 'lower' },
  { name: 'redisBytesPerCredentialLarge', label: 'Redis per credential, large claims', unit: 'B/credential', meaning: 'the same Redis slope for logins carrying the large claim set', better: 'lower' },
  { name: 'heapBytesPerCredentialSlope', label: 'heap slope, before the control', unit: 'B/credential', meaning: 'heap slope of this strategy\'s server alone (small claims), before the control is subtracted', better: 'lower' },
  { name: 'controlHeapBytesPerCredentialSlope', label: 'heap slope of the jwt control', unit: 'B/credential', meaning: 'the same slope on the stateless jwt control server, measured beside it in the same cell: allocation noise, no state', better: 'neither' },
  { name: 'rssBytesPerCredentialSlope', label: 'RSS slope', unit: 'B/credential', meaning: 'resident memory slope between the two population sizes: allocator growth, not state (not net of the control)', better: 'lower' },
  { name: 'populationLow', label: 'first reading at', unit: 'credentials', meaning: 'live credentials at the first reading of the slope (the logins before it are the warm-up)', better: 'neither' },
  { name: 'loginsFailed', label: 'failed logins', unit: 'count', meaning: 'logins that failed while filling the population (this server and the control)', better: 'lower' },
] as const satisfies readonly MetricDecl[]

interface Reading { heapBytes: number; rssBytes: number; redisBytes: number | null }

/**
 * The state of one server after a forced GC (two: the first may leave finalisable objects behind).
 * Smaller populations or one GC were tried for --quick: memory-session's slope then came out negative.
 */
async function reading(env: CellEnv): Promise<Reading> {
  await connectionsClosed(env, SETTLE_MS)
  const inst = env.instances[0]!
  await inst.stats({ gc: true })
  const s = await inst.stats({ gc: true })
  return { heapBytes: s.heapUsedBytes, rssBytes: s.rssBytes, redisBytes: env.redisProbe ? await prefixMemoryBytes(env.redisProbe, env.redisPrefix) : null }
}

/** Logins the repeat sends to each server: the warm-up, the slope, one segment per claim set. */
function loginsPerServer(quick: boolean): number {
  const p = memoryPopulation(quick)
  return p.high + CLAIM_SEGMENTS.length * p.perClaimSet
}

/**
 * Seconds per repeat, measured on the 2-core machine: the control's start beside the warm-up,
 * ≈ 0.35 ms per login (both servers on every core; the first, cold logins cost several times the
 * later ones), and ≈ 0.2 s per reading (a pause, two forced GCs in each server, INFO).
 */
function estimateSec(o: Readonly<BenchOptions>): number {
  const pop = memoryPopulation(o.quick)
  // a cell's server and its control (--quick: its share of the one control)
  const servers = 1 + (o.quick ? 1 / Math.max(1, o.strategies.length) : 1)
  return 1.5 + servers * loginsPerServer(o.quick) * 0.00035 + (pop.readings + CLAIM_SEGMENTS.length * (READINGS_PER_CLAIM_SET - 1)) * 0.2
}

interface Point { x: number; r: Reading; segment: 'small' | ClaimSet }
/** One server's readings over a repeat, its login windows, and its failed logins. */
interface Series { points: Point[]; windows: WindowMeasurement[]; failed: number }

/**
 * The repeat's sequence on `servers` in lockstep (the same logins, side by side, then a reading of
 * each): the warm-up (the first `low` logins, the last of them with the typical and the large claim
 * set, so that their paths are warm too), readings up to `high` with small claims, then
 * `perClaimSet` logins per claim set, read READINGS_PER_CLAIM_SET − 1 times each. The first server's
 * segment readings start at the previous segment's last reading.
 */
async function series(ctx: ScenarioContext, starting: ReadonlyArray<Promise<CellEnv>>, pop: ReturnType<typeof memoryPopulation>): Promise<Series[]> {
  const { options, signal } = ctx
  const out: Series[] = starting.map(() => ({ points: [], windows: [], failed: 0 }))
  const logins = async (e: CellEnv, k: number, first: number, count: number, claims: ClaimSet) => {
    const w = await measuredLoad(e, '/login', loginPlans(e.urls, first, count, options.connections, claims === 'small' ? {} : { claims }), { roundsPerConnection: 1 }, signal)
    out[k]!.windows.push(w)
    out[k]!.failed += w.non2xx + w.errors
  }
  // each server warms up as soon as it is up (a control may still be starting): all settle before anything fails
  const small = pop.low - CLAIM_SEGMENTS.length * WARM_PER_CLAIM_SET
  const warmed = await Promise.allSettled(starting.map(async (p, k) => {
    const e = await p
    await logins(e, k, 1, small, 'small')
    for (const [j, { claims }] of CLAIM_SEGMENTS.entries()) await logins(e, k, small + 1 + j * WARM_PER_CLAIM_SET, WARM_PER_CLAIM_SET, claims)
    return e
  }))
  const failed = warmed.find((w): w is PromiseRejectedResult => w.status === 'rejected')
  if (failed) throw failed.reason
  const servers = warmed.map((w) => (w as PromiseFulfilledResult<CellEnv>).value)
  let next = pop.low + 1
  const fill = async (count: number, claims: ClaimSet) => {
    const first = next
    next += count
    await Promise.all(servers.map((e, k) => logins(e, k, first, count, claims)))
  }
  const readAt = async (x: number, segment: Point['segment']) => {
    const rs = await Promise.all(servers.map(reading))
    rs.forEach((r, k) => out[k]!.points.push({ x, r, segment }))
  }
  await readAt(pop.low, 'small')
  const step = (pop.high - pop.low) / (pop.readings - 1)
  for (let k = 1; k < pop.readings; k++) {
    const x = Math.round(pop.low + k * step)
    ctx.status(`${x} credentials`)
    await fill(x - (next - 1), 'small')
    await readAt(x, 'small')
  }
  for (const { claims } of CLAIM_SEGMENTS) {
    ctx.status(`${claims} claims`)
    // the segment's slope starts at the previous reading
    for (const o of out) o.points.push({ ...o.points.at(-1)!, segment: claims })
    for (let k = 0; k < READINGS_PER_CLAIM_SET - 1; k++) {
      await fill(Math.round(pop.perClaimSet / (READINGS_PER_CLAIM_SET - 1)), claims)
      await readAt(next - 1, claims)
    }
  }
  return out
}

/**
 * Starts the control (at once: its start overlaps what `fn` does meanwhile), lets it run on every core
 * once up, hands `fn` its start, and always stops it.
 */
async function withControl<T>(ctx: ScenarioContext, spec: EnvSpec, fn: (control: Promise<CellEnv>) => Promise<T>): Promise<T> {
  const starting = ctx.orchestrator.startEnv(spec)
  const spread = starting.then(async (c) => ({ c, pinBack: await c.spreadOverAllCores() }))
  try {
    return await fn(spread.then((x) => x.c))
  } finally {
    await spread.then(async ({ c, pinBack }) => { await pinBack(); await c.stop() }, () => {})
  }
}

/** --quick: the one control of a run's memory cells (per orchestrator, i.e. per run), its series measured once. */
const sharedControls = new WeakMap<object, Promise<Series>>()
function sharedControl(ctx: ScenarioContext, spec: EnvSpec, pop: ReturnType<typeof memoryPopulation>): Promise<Series> {
  let control = sharedControls.get(ctx.orchestrator)
  if (!control) {
    control = withControl(ctx, spec, async (c) => (await series({ ...ctx, status: () => {} }, [c], pop))[0]!)
    sharedControls.set(ctx.orchestrator, control)
  }
  return control
}

const sizeName = (suffix: string) => `${Number(suffix).toLocaleString('en-US')} credentials`
/** The report's charts of this scenario. */
const CHARTS: ReadonlyArray<ChartDecl<MetricNameOf<typeof METRICS>>> = [
  { title: 'Server heap per live credential, by population size', yTitle: 'heap per credential (B/credential)', pattern: 'heapBytesPerCredentialAt*', groupOfSuffix: sizeName },
  { title: 'Redis memory per live credential, by population size', yTitle: 'Redis per credential (B/credential)', pattern: 'redisBytesPerCredentialAt*', groupOfSuffix: sizeName },
]

/**
 * memory — server-side state per live credential, as the slope of the server's heap (after a forced
 * GC) between two population sizes, both after a warm-up, so that what a server allocates once
 * (compiled code, allocator pages) is not divided among the credentials. A stateless control (a jwt
 * server started beside it, given the same logins) is measured the same way in the same cell and
 * subtracted: what remains is state. Redis bytes per credential likewise (MEMORY USAGE of the cell's own keys) (no control
 * needed: a stateless server writes nothing there). Then the same slope for logins carrying the
 * typical and the large claim sets: what a session stores grows with what it holds, where a JWT's
 * claims travel with every request instead (request-size).
 */
export const memory: Scenario = {
  name: 'memory',
  description: 'server-side state per live credential: heap slope net of a stateless control, and Redis bytes, per claim set',
  claims: ['sessions cost "server memory"', 'JWT needs "no session storage"'],
  metrics: METRICS,
  targetMode: { skip: 'it starts fresh servers for every repeat, to read their memory from zero' },
  charts: CHARTS,
  freshEnvPerRepeat: true,
  // state, not time: readings of one cell's heap and Redis keys are not moved by another cell's load.
  // Side by side in --quick only: there seven cells took 28 s instead of 33; in a full run (7 000
  // logins and 8 readings per server) 104 s instead of 72, the server core thrashing between 14 servers
  sideBySide: (o) => o.quick,
  repeats: (o) => o.metricsRepeats,

  plan(options) {
    return options.strategies.map((strategy): CellPlan => {
      const profile = profileFor(strategy, options)
      return {
        id: `memory/${strategy}/${profile}/HS256`, scenario: 'memory', claims: this.claims,
        env: { strategy, profile, alg: 'HS256', instances: 1, balancer: 'none' },
      }
    })
  },

  estimateRepeatSec: estimateSec,
  // side by side, the cells share both cores (and --quick's one control): on the 2-core machine seven
  // of them took ≈ 0.26 of their time one after another (the harness's logins and the readings'
  // pauses overlap), the last one's remainder after that
  estimateSideBySide: (o) => ({ measureSec: SIDE_BY_SIDE_SHARE * estimateSec(o), waitSec: (1 - SIDE_BY_SIDE_SHARE) * estimateSec(o) }),

  async runRepeat(ctx, env, _cell, index) {
    const { options } = ctx
    const startedAt = new Date().toISOString()
    const pop = memoryPopulation(options.quick)
    const controlSpec: EnvSpec = { ...env.spec, strategy: CONTROL, profile: profileFor(CONTROL, options), claims: 'small', sticky: false }
    // state, not time: the servers may run on every core (the server core alone would only queue their logins)
    const pinBack = await env.spreadOverAllCores()
    try {
      let mine: Series
      let theirs: Series
      let controlNote: string
      if (options.quick) {
        // --quick (cells side by side): one control for every cell, given the same logins and read at
        // the same populations beside them; a full run gives each cell a control of its own
        ctx.status(`warming up: ${pop.low} logins (the stateless control runs beside every cell)`)
        const [own, control] = await Promise.all([series(ctx, [Promise.resolve(env)], pop), sharedControl(ctx, controlSpec, pop)])
        mine = own[0]!
        theirs = control
        controlNote = `--quick: one stateless ${CONTROL} control for all cells, given the same logins and read at the same populations beside them`
      } else {
        ctx.status(`warming up: ${pop.low} logins; starting the stateless control`)
        const both = await withControl(ctx, controlSpec, (c) => series(ctx, [Promise.resolve(env), c], pop))
        mine = both[0]!
        theirs = both[1]!
        controlNote = `a stateless ${CONTROL} server got the same logins beside it in this cell`
      }
      const fit = (points: readonly Point[], f: (r: Reading) => number | null) => {
        const xy = points.flatMap(({ x, r }) => { const y = f(r); return y === null ? [] : [{ x, y }] })
        return xy.length === points.length ? robustSlope(xy) : null
      }
      const slope = (series: Series, segment: string) => series.points.filter((p) => p.segment === segment)
      const mineSlope = fit(slope(mine, 'small'), (r) => r.heapBytes)!
      const controlSlope = fit(slope(theirs, 'small'), (r) => r.heapBytes)!
      const metrics: Record<string, number | null> = {
        [`heapBytesPerCredentialAt${pop.high}`]: mineSlope - controlSlope,
        [`redisBytesPerCredentialAt${pop.high}`]: fit(slope(mine, 'small'), (r) => r.redisBytes),
        heapBytesPerCredentialSlope: mineSlope,
        controlHeapBytesPerCredentialSlope: controlSlope,
        rssBytesPerCredentialSlope: fit(slope(mine, 'small'), (r) => r.rssBytes),
        populationLow: pop.low,
      }
      for (const { claims, suffix } of CLAIM_SEGMENTS) {
        metrics[`heapBytesPerCredential${suffix}`] = fit(slope(mine, claims), (r) => r.heapBytes)! - fit(slope(theirs, claims), (r) => r.heapBytes)!
        metrics[`redisBytesPerCredential${suffix}`] = fit(slope(mine, claims), (r) => r.redisBytes)
      }
      metrics.loginsFailed = mine.failed + theirs.failed
      const def = STRATEGIES[env.spec.strategy]
      const xs = slope(mine, 'small').map((p) => p.x)
      return metricsRepeat(index, startedAt, metrics, mine.windows, [
        `heap after two forced GCs in the server, read at ${xs.join(', ')} live credentials (the first ${pop.low} logins are the warm-up); ` +
          `slope = median of the slopes between every two readings; then ${pop.perClaimSet} logins per claim set (typical, large), ` +
          `read ${READINGS_PER_CLAIM_SET - 1} times each, one slope each (from the previous reading on); ${controlNote}, and its slope (${controlSlope.toFixed(1)} B/credential) is subtracted`,
        ...(def.family === 'server-session' && !def.needsRedis ? ['in-process sessions hold the claims object the server built by reference; the 50 permissions of the large set are one array shared by every session of this server (servers/users.ts), so their own bytes are not in the large-claims figure: an app that builds claims per login would also pay for its copy'] : []),
      ])
    } finally {
      await pinBack()
    }
  },

  summarize: summarizeMetrics,
}
