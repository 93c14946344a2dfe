import type { CellEnv, EnvSpec } from '../harness/orchestrator.ts'
import type { BenchOptions } from '../harness/options.ts'
import type { WindowMeasurement } from '../harness/results.ts'
import type { ClaimSet } from '../servers/config.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { loginPlans, measuredLoad, median, metricsRepeat, prefixMemoryBytes, profileFor, sleep, summarizeMetrics } from './common.ts'
import type { CellPlan, MetricDecl, Scenario } from './types.ts'

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
/** Pause before a reading, so that the server has closed the load's connections (their buffers are not state). */
const SETTLE_MS = 30
/** Readings per claim-set segment, its first shared with the previous segment's last. */
const READINGS_PER_CLAIM_SET = 3
/** Share of a repeat's time one cell adds to a scenario whose cells run side by side. */
const SIDE_BY_SIDE_SHARE = 0.55
/** The stateless control every cell measures beside its strategy: the plain JWT keeps nothing per credential. */
const CONTROL = 'jwt'

/** Claim sets measured after the slope, with their metric suffix. */
const CLAIM_SEGMENTS: ReadonlyArray<{ claims: ClaimSet; suffix: string }> = [{ claims: 'typical', suffix: 'Typical' }, { claims: 'large', suffix: 'Large' }]

/** What this scenario reports (units and directions: see MetricDecl). */
export const METRICS: readonly MetricDecl[] = [
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
]

interface Reading { heapBytes: number; rssBytes: number; redisBytes: number | null }

/**
 * The state of one server after a forced GC (two: the first may leave finalisable objects behind).
 * Smaller populations or one GC were tried for --quick: memory-session's slope then came out negative.
 */
async function reading(env: CellEnv): Promise<Reading> {
  await sleep(SETTLE_MS)
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
  return 1.5 + 2 * loginsPerServer(o.quick) * 0.00035 + (pop.readings + CLAIM_SEGMENTS.length * (READINGS_PER_CLAIM_SET - 1)) * 0.2
}

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
  // side by side, the cells share the server core: on the 2-core machine seven of them took ≈ 0.55 of
  // their time one after another (the harness's logins and the readings' pauses overlap), the last
  // one's remainder after that
  estimateSideBySide: (o) => ({ measureSec: SIDE_BY_SIDE_SHARE * estimateSec(o), waitSec: (1 - SIDE_BY_SIDE_SHARE) * estimateSec(o) }),

  async runRepeat(ctx, env, _cell, index) {
    const { options, signal } = ctx
    const startedAt = new Date().toISOString()
    const pop = memoryPopulation(options.quick)
    const windows: WindowMeasurement[] = []
    let failed = 0
    /** Logins of users first…first+count−1 on one server; this cell's windows are kept. */
    const logins = async (e: CellEnv, first: number, count: number, claims: ClaimSet) => {
      const w = await measuredLoad(e, '/login', loginPlans(e.urls, first, count, options.connections, claims === 'small' ? {} : { claims }), { roundsPerConnection: 1 }, signal)
      if (e === env) windows.push(w)
      failed += w.non2xx + w.errors
    }
    /** The warm-up: the first `low` logins, the last of them with the typical and the large claim set (their paths warm too). */
    const warmUp = async (e: CellEnv) => {
      const small = pop.low - CLAIM_SEGMENTS.length * WARM_PER_CLAIM_SET
      await logins(e, 1, small, 'small')
      for (const [k, { claims }] of CLAIM_SEGMENTS.entries()) await logins(e, small + 1 + k * WARM_PER_CLAIM_SET, WARM_PER_CLAIM_SET, claims)
    }

    // the control starts while this server warms up, and gets the same warm-up as soon as it is up
    ctx.status(`warming up: ${pop.low} logins; starting the stateless control`)
    const controlSpec: EnvSpec = { ...env.spec, strategy: CONTROL, profile: profileFor(CONTROL, options), claims: 'small', sticky: false }
    // state, not time: both servers may run on every core (the server core alone would only queue their logins)
    const pinBack = await env.spreadOverAllCores()
    const starting = ctx.orchestrator.startEnv(controlSpec)
    const [warm, started] = await Promise.allSettled([warmUp(env), starting.then(async (control) => { await control.spreadOverAllCores(); await warmUp(control); return control })])
    if (started.status === 'rejected') {
      await pinBack()
      await starting.then((c) => c.stop(), () => {})
      throw started.reason
    }
    const control = started.value
    try {
      if (warm.status === 'rejected') throw warm.reason
      const servers = [env, control]
      let next = pop.low + 1
      /** The same logins, on this cell's server and on the control, side by side. */
      const fill = async (count: number, claims: ClaimSet) => {
        const first = next
        next += count
        await Promise.all(servers.map((e) => logins(e, first, count, claims)))
      }
      const read = () => Promise.all(servers.map(reading))

      const mine: Array<{ x: number; r: Reading }> = []
      const theirs: Array<{ x: number; r: Reading }> = []
      const readAt = async (x: number) => {
        const [r, c] = await read()
        mine.push({ x, r: r! })
        theirs.push({ x, r: c! })
      }
      await readAt(pop.low)
      const step = (pop.high - pop.low) / (pop.readings - 1)
      for (let k = 1; k < pop.readings; k++) {
        const x = Math.round(pop.low + k * step)
        ctx.status(`${x} credentials`)
        await fill(x - (next - 1), 'small')
        await readAt(x)
      }
      const fit = (points: typeof mine, f: (r: Reading) => number | null) => {
        const xy = points.flatMap(({ x, r }) => { const y = f(r); return y === null ? [] : [{ x, y }] })
        return xy.length === points.length ? robustSlope(xy) : null
      }
      const mineSlope = fit(mine, (r) => r.heapBytes)!
      const controlSlope = fit(theirs, (r) => r.heapBytes)!
      const metrics: Record<string, number | null> = {
        [`heapBytesPerCredentialAt${pop.high}`]: mineSlope - controlSlope,
        [`redisBytesPerCredentialAt${pop.high}`]: fit(mine, (r) => r.redisBytes),
        heapBytesPerCredentialSlope: mineSlope,
        controlHeapBytesPerCredentialSlope: controlSlope,
        rssBytesPerCredentialSlope: fit(mine, (r) => r.rssBytes),
        populationLow: pop.low,
      }
      for (const { claims, suffix } of CLAIM_SEGMENTS) {
        ctx.status(`${claims} claims`)
        const from = mine.length - 1
        const steps = READINGS_PER_CLAIM_SET - 1
        for (let k = 0; k < steps; k++) {
          const count = Math.round(pop.perClaimSet / steps)
          await fill(count, claims)
          await readAt(next - 1)
        }
        metrics[`heapBytesPerCredential${suffix}`] = fit(mine.slice(from), (r) => r.heapBytes)! - fit(theirs.slice(from), (r) => r.heapBytes)!
        metrics[`redisBytesPerCredential${suffix}`] = fit(mine.slice(from), (r) => r.redisBytes)
      }
      metrics.loginsFailed = failed
      const def = STRATEGIES[env.spec.strategy]
      return metricsRepeat(index, startedAt, metrics, windows, [
        `heap after two forced GCs in the server, read at ${mine.map((m) => m.x).join(', ')} live credentials (the first ${pop.low} logins are the warm-up); slope = median of the slopes between every two readings; then ${pop.perClaimSet} logins per claim set (typical, large), read ${READINGS_PER_CLAIM_SET - 1} times each, one slope each (from the previous reading on); a stateless ${CONTROL} server got the same logins beside it in this cell, and its slope (${controlSlope.toFixed(1)} B/credential) is subtracted`,
        ...(def.family === 'server-session' && !def.needsRedis ? ['in-process sessions hold the claims object the server built by reference; the 50 permissions of the large set are one array shared by every session of this server (servers/users.ts), so their own bytes are not in the large-claims figure: an app that builds claims per login would also pay for its copy'] : []),
      ])
    } finally {
      await pinBack()
      await control.stop()
    }
  },

  summarize: summarizeMetrics,
}
