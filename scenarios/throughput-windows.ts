/**
 * The steps of a throughput repeat: the cell's population (logged in once, reused while its
 * credentials live), the warm-up, the alternating /me and /health windows of every level, and the
 * cross-check by the other load generator.
 */
import { openGenerator, runLoad, type ConnectionPlan, type LoadGenerator } from '../harness/load/load.ts'
import { connectionPlans, loginPopulation, type IssuedCredential } from '../harness/load/population.ts'
import { WrkUnavailableError } from '../harness/load/wrk.ts'
import { probeHostSpeed } from '../harness/measure/host-speed.ts'
import { measureAround } from '../harness/measure/probes.ts'
import type { CellEnv } from '../harness/processes/env-spec.ts'
import { offsetOf, shareOf, type BenchOptions } from '../harness/run/options.ts'
import type { CellPlan, ScenarioContext } from '../harness/run/scenario.ts'
import type { CrossCheckRepeat, LoadGeneratorName, ThroughputLevel, WindowMeasurement, WindowPair } from '../harness/results/results.ts'
import { BASELINE_PATH } from '../servers/app.ts'
import {
  CALIBRATION_CONNECTIONS_PER_URL, CROSS_CHECK_ROUNDS, firstWarmupFactor, measuredRepeatSec, pairsPerLevel, populationUsable, REWARM_SHARE,
} from './throughput-time.ts'

// the /health baseline on a path as long as /me: a baseline request carries exactly the same bytes
const PATHS = { me: '/me', health: BASELINE_PATH } as const
type PathName = keyof typeof PATHS
export type PlansAt = (connections: number, which: PathName) => ConnectionPlan[]
type HostSpeed = Awaited<ReturnType<typeof probeHostSpeed>>

/** Connection plans per (connections, path), built once per repeat (wrk writes its request files once per plan set). */
function planCache(urls: readonly string[], creds: readonly IssuedCredential[], shard: BenchOptions['shard']): PlansAt {
  const cache = new Map<string, ConnectionPlan[]>()
  return (connections, which) => {
    const key = `${connections} ${which}`
    let plans = cache.get(key)
    // a shard opens its share of the level's connections
    if (!plans) cache.set(key, (plans = connectionPlans(urls, creds, shareOf(connections, shard), PATHS[which])))
    return plans
  }
}

/** What a cell's first repeat prepared on its processes, for the later repeats: the population, its plans, its exact bytes. */
export interface Population {
  creds: IssuedCredential[]
  plansAt: PlansAt
  loggedInAtMs: number
  bytes: [WindowMeasurement, WindowMeasurement]
  /** Whether this repeat logged it in (false: an earlier repeat's, reused). */
  loggedInNow: boolean
}
const POPULATIONS = new WeakMap<CellEnv, Population>()

/**
 * The cell's population, logged in by an earlier repeat on these processes while it is young enough;
 * else logged in now, with the exact bytes of a request: every user once per path, counted at the
 * servers' sockets (any generator sends the same bytes).
 */
export async function preparePopulation(ctx: ScenarioContext, env: CellEnv, cell: CellPlan): Promise<Population> {
  const { options, signal } = ctx
  const earlier = POPULATIONS.get(env)
  if (earlier && populationUsable(cell.env.strategy, (Date.now() - earlier.loggedInAtMs) / 1000, measuredRepeatSec(options))) {
    return { ...earlier, loggedInNow: false }
  }
  // a shard logs in its own share of the users (users firstUser… of the run's)
  const users = shareOf(options.users, options.shard)
  ctx.status(`logging in ${users} users`)
  const loggedInAtMs = Date.now()
  const creds = await loginPopulation(env.urls, users, signal, { firstUser: 1 + offsetOf(options.users, options.shard) })
  ctx.status('counting bytes')
  const bytesOf = (path: string) => measureAround(env.instances, null, path, () =>
    runLoad({ connections: connectionPlans(env.urls, creds, env.urls.length * CALIBRATION_CONNECTIONS_PER_URL, path), roundsPerConnection: 1, signal }))
  const population: Population = { creds, plansAt: planCache(env.urls, creds, options.shard), loggedInAtMs, bytes: [await bytesOf(PATHS.me), await bytesOf(PATHS.health)], loggedInNow: true }
  POPULATIONS.set(env, population)
  return population
}

/**
 * The warm-up. A fresh process (first repeat) still compiles its hot paths and fills its pools: warm
 * it longer at the highest level (not in --quick, a smoke run: there the warm-up is short, and the
 * report says CIs may be wide), then at every other level once: the first windows at 1 connection of
 * a process warmed at 64 cost 10–100 % more (code paths only low concurrency takes, e.g. a Redis
 * command sent alone, compiled then), measured as a first-repeat bias before this. A later repeat
 * finds its process compiled but idle since its last repeat (other cells ran): it is warmed at the
 * level it measures first until its cost stops falling (`rewarm`), whose slice costs it returns.
 */
export async function warmUp(env: CellEnv, o: Readonly<BenchOptions>, generator: LoadGenerator, plansAt: PlansAt, firstLevel: number, index: number, signal: AbortSignal): Promise<number[] | undefined> {
  if (o.warmupSec <= 0) return undefined
  if (index > 0) return rewarm(env, generator, { me: plansAt(firstLevel, 'me'), health: plansAt(firstLevel, 'health') }, o.warmupSec * REWARM_SHARE, signal)
  const top = Math.max(...o.connectionLevels)
  const levels = [[top, o.warmupSec * firstWarmupFactor(o)] as const, ...o.connectionLevels.filter((c) => c !== top).map((c) => [c, o.warmupSec] as const)]
  for (const [c, sec] of levels) {
    await generator.run(plansAt(c, 'me'), sec, signal)
    await generator.run(plansAt(c, 'health'), sec, signal)
  }
  return undefined
}

/** A later repeat's warm-up stops once a /me slice costs at least this share of the slice before it (it stopped falling)… */
export const REWARM_STEADY_SHARE = 0.95
/** …or after this many slices. */
export const REWARM_MAX_SLICES = 6

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
async function rewarm(env: CellEnv, generator: LoadGenerator, plans: Record<PathName, ConnectionPlan[]>, sliceSec: number, signal: AbortSignal): Promise<number[]> {
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
 * Every level's alternating pairs, in `order`, with the host's own speed on both cores before each
 * level's windows and after the last (harness/measure/host-speed.ts).
 */
export async function measureLevels(ctx: ScenarioContext, env: CellEnv, generator: LoadGenerator, plansAt: PlansAt, order: readonly number[]): Promise<{ levels: ThroughputLevel[]; speed: HostSpeed[] }> {
  const { options, signal } = ctx
  const count = pairsPerLevel(options)
  const levels: ThroughputLevel[] = []
  // the servers' core is timed inside a server: none to ask without their stats (target mode), no probe
  const probe = async () => (env.instances.length > 0 ? [await probeHostSpeed(env.instances)] : [])
  const speed = await probe()
  for (const connections of order) {
    const plans = { me: plansAt(connections, 'me'), health: plansAt(connections, 'health') }
    // a population smaller than two levels: measured once (never in a sharded run, whose shards must run the same windows)
    if (!options.shard && levels.some((l) => l.connections === plans.me.length)) continue
    if (levels.length > 0) speed.push(...(await probe()))
    const pairs = await measurePairs(env, generator, plans, count, options.windowSec, signal, (p) => ctx.status(`${connections} conn.: pair ${p}/${count}`), ctx.rendezvous)
    levels.push({ connections: plans.me.length, pairs })
  }
  speed.push(...(await probe()))
  return { levels, speed }
}

/** `count` alternating pairs of /me and /health windows (me-health, health-me, …). */
export async function measurePairs(
  env: CellEnv, generator: LoadGenerator, plans: Record<PathName, ConnectionPlan[]>, count: number, windowSec: number, signal: AbortSignal,
  status: (pair: number) => void, rendezvous?: () => Promise<void>,
): Promise<WindowPair[]> {
  const pairs: WindowPair[] = []
  for (let p = 0; p < count; p++) {
    if (signal.aborted) throw signal.reason
    status(p + 1)
    const order = p % 2 === 0 ? (['me', 'health'] as const) : (['health', 'me'] as const)
    const w: Partial<Record<PathName, WindowMeasurement>> = {}
    for (const which of order) {
      // a sharded run: every shard's readings span every shard's load, and no shard's other load
      w[which] = await measureAround(env.instances, env.redisProbe, PATHS[which], () => generator.run(plans[which], windowSec, signal), rendezvous)
    }
    const [meCpu, healthCpu] = [w.me!.serverCpuMicrosPerRequest, w.health!.serverCpuMicrosPerRequest]
    pairs.push({ me: w.me!, health: w.health!, cpuRatio: meCpu !== null && healthCpu ? meCpu / healthCpu : null })
  }
  return pairs
}

/** The other generator's pairs at `connections`, in turn with the primary's, or why it could not run (wrk not installed). */
export async function runCrossCheck(env: CellEnv, options: Readonly<BenchOptions>, primary: LoadGenerator, plansAt: PlansAt, connections: number, signal: AbortSignal, status: (s: string) => void): Promise<CrossCheckRepeat> {
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
