import type { Redis } from 'ioredis'
import { runLoad, type ConnectionPlan } from '../harness/load/load.ts'
import type { CellEnv } from '../harness/processes/env-spec.ts'
import type { BenchOptions } from '../harness/run/options.ts'
import { measureAround } from '../harness/measure/probes.ts'
import type { MetricsRepeat, MetricsSummary, RepeatResult, WindowMeasurement } from '../harness/results/results.ts'
import type { ScenarioContext } from '../harness/run/scenario.ts'
import { estimate } from '../harness/measure/stats.ts'
import { JWT_ALGORITHMS, PROFILES, type JwtAlgorithm, type Profile, type StrategyName } from '../servers/config.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'

export const isJwtFamily = (s: StrategyName) => STRATEGIES[s].family === 'jwt'

/** Algorithms a per-algorithm scenario covers for `jwt`: all four, or in --quick only those asked for. */
export function algorithmsFor(strategy: StrategyName, options: Readonly<BenchOptions>): readonly JwtAlgorithm[] {
  if (strategy !== 'jwt') return ['HS256']
  return options.quick ? options.algs : JWT_ALGORITHMS
}

/** The first requested profile the strategy has (tuned unless asked otherwise). */
export function profileFor(strategy: StrategyName, options: Readonly<BenchOptions>): Profile {
  const def = STRATEGIES[strategy]
  return options.profiles.find((p) => def.profiles.includes(p)) ?? (def.profiles.includes('tuned') ? 'tuned' : def.profiles[0] ?? PROFILES[1])
}

/** Every requested profile the strategy has; when it has none of them, the one `profileFor` picks. */
export function profilesFor(strategy: StrategyName, options: Readonly<BenchOptions>): Profile[] {
  const mine = options.profiles.filter((p) => STRATEGIES[strategy].profiles.includes(p))
  return mine.length > 0 ? mine : [profileFor(strategy, options)]
}

/**
 * Keys under `prefix` (a cell's own prefix in a shared Redis), found with SCAN, which never blocks
 * Redis as KEYS would. SCAN may return a key twice while the keyspace is resized: keys are deduplicated.
 */
export async function keysUnder(redis: Redis, prefix: string): Promise<Set<string>> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
  const seen = new Set<string>()
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    for (const k of keys) seen.add(k)
  } while (cursor !== '0')
  return seen
}

/** How many keys lie under `prefix`. */
export const countRedisKeys = async (redis: Redis, prefix: string): Promise<number> => (await keysUnder(redis, prefix)).size

/**
 * Bytes Redis holds for the keys under `prefix`: the sum of `MEMORY USAGE` (key, value and their
 * overhead, every element counted) over them. Unlike `used_memory`, it is this cell's own: other
 * cells' keys expiring meanwhile do not move it.
 */
export async function prefixMemoryBytes(redis: Redis, prefix: string): Promise<number> {
  const keys = await keysUnder(redis, prefix)
  if (keys.size === 0) return 0
  const pipeline = redis.pipeline()
  for (const k of keys) pipeline.call('MEMORY', 'USAGE', k, 'SAMPLES', '0')
  const replies = (await pipeline.exec()) ?? []
  return replies.reduce((t, [err, bytes]) => t + (err === null && typeof bytes === 'number' ? bytes : 0), 0)
}

/** One measured window of load: servers, Redis and generator sampled around it. */
export async function measuredLoad(env: CellEnv, path: string, plans: ConnectionPlan[], how: { durationSec?: number; roundsPerConnection?: number }, signal?: AbortSignal): Promise<WindowMeasurement> {
  return measureAround(env.instances, env.redisProbe, path, () => runLoad({ connections: plans, ...how, ...(signal ? { signal } : {}) }))
}

/** Connection plans for POST /login that cycle through users first…first+count-1 (`extra` joins each body, e.g. `{ claims: 'large' }`). */
export function loginPlans(urls: readonly string[], first: number, count: number, connections: number, extra: Record<string, unknown> = {}): ConnectionPlan[] {
  const c = Math.min(connections, count)
  return Array.from({ length: c }, (_, k) => ({
    url: urls[k % urls.length]!,
    requests: Array.from({ length: Math.ceil((count - k) / c) }, (_, j) => {
      const i = first + k + j * c
      return { method: 'POST' as const, path: '/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: `user${i}`, password: `pw-user${i}`, ...extra }) }
    }),
  }))
}

/**
 * `items` rotated left by `by` places: the order of a cell's measured windows in repeat `by`, so that
 * no window always runs first (on the coldest process) or last, and every run repeats the same orders.
 */
export function rotated<T>(items: readonly T[], by: number): T[] {
  const n = items.length
  const k = n === 0 ? 0 : ((by % n) + n) % n
  return [...items.slice(k), ...items.slice(0, k)]
}

/**
 * A per-request figure over several windows together: its total over the windows that have it ÷
 * their requests (null when none has it), e.g. server CPU per request over all login windows.
 */
export function pooledPerRequest(windows: readonly WindowMeasurement[], perRequest: (w: WindowMeasurement) => number | null): number | null {
  let total = 0
  let requests = 0
  for (const w of windows) {
    const x = perRequest(w)
    if (x === null) continue
    total += x * w.serverRequests
    requests += w.serverRequests
  }
  return requests > 0 ? total / requests : null
}

/** Server CPU per request over several windows together: total CPU ÷ total requests. */
export const pooledCpuMicrosPerRequest = (windows: readonly WindowMeasurement[]) => pooledPerRequest(windows, (w) => w.serverCpuMicrosPerRequest)

/** Requests the servers answered per second over several windows together (each timed by its load, not its samples). */
export function pooledRequestsPerSec(windows: readonly WindowMeasurement[]): number | null {
  const sec = windows.reduce((t, w) => t + w.loadDurationSec, 0)
  return sec > 0 ? windows.reduce((n, w) => n + w.serverRequests, 0) / sec : null
}

/** The median of some numbers (null when there are none). */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/**
 * Unmeasured load until the servers' CPU per request has settled (compiled code and caches warm):
 * chunks of `chunkSec` until each instance has answered `minRequestsPerInstance` and the last three
 * chunks' CPU per request lie within `tolerance` of their median, after at least `minSec` and at
 * most `maxSec`. A cold server pays several times its warm cost per request and stays on that
 * plateau for a while: on the 2-core machine one instance answered /me at ≈ 500 µs for its first
 * ≈ 4 000 requests and at ≈ 60 µs after them; two instances sharing a core took ≈ 2.5 s to get
 * there. A fixed short warm-up leaves the first window measuring the JIT.
 */
export async function warmUntilSteady(
  env: CellEnv, path: string, plans: ConnectionPlan[],
  how: { minSec: number; maxSec: number; minRequestsPerInstance?: number; chunkSec?: number; tolerance?: number }, signal?: AbortSignal,
): Promise<{ sec: number; steady: boolean; cpuMicrosPerRequest: number | null }> {
  const chunkSec = how.chunkSec ?? 0.25
  const tolerance = how.tolerance ?? 0.15
  const t0 = performance.now()
  const recent: number[] = []
  let requests = 0
  for (;;) {
    const w = await measuredLoad(env, path, plans, { durationSec: chunkSec }, signal)
    const sec = (performance.now() - t0) / 1000
    requests += w.serverRequests
    if (w.serverCpuMicrosPerRequest !== null) recent.push(w.serverCpuMicrosPerRequest)
    const last = recent.slice(-3)
    const mid = median(last)
    const settled = last.length === 3 && mid !== null && last.every((x) => Math.abs(x - mid) <= tolerance * mid)
    const steady = settled && requests / env.instances.length >= (how.minRequestsPerInstance ?? 0)
    if ((steady && sec >= how.minSec) || sec >= how.maxSec || signal?.aborted) return { sec, steady, cpuMicrosPerRequest: recent.at(-1) ?? null }
  }
}

/** Runs load that is not measured: warm-up of a path before its measured windows. */
export async function warmUp(plans: ConnectionPlan[], durationSec: number, signal?: AbortSignal): Promise<void> {
  if (durationSec <= 0 || plans.length === 0) return
  await runLoad({ connections: plans, durationSec, ...(signal ? { signal } : {}) })
}

export function metricsRepeat(index: number, startedAt: string, metrics: Record<string, number | null>, windows: WindowMeasurement[] = [], notes: string[] = []): MetricsRepeat {
  return { kind: 'metrics', index, startedAt, metrics, windows, notes }
}

/** Pure: median and 95 % CI of every metric over the repeats. */
export function summarizeMetrics(all: readonly RepeatResult[]): MetricsSummary {
  const repeats = all.filter((r): r is MetricsRepeat => r.kind === 'metrics')
  const names = [...new Set(repeats.flatMap((r) => Object.keys(r.metrics)))]
  return {
    kind: 'metrics',
    metrics: Object.fromEntries(names.map((n) => [n, estimate(repeats.map((r) => r.metrics[n]).filter((x): x is number => typeof x === 'number'))])),
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Takes the run's measurement lock (`ctx.exclusive`) and resolves once it is held, with the function
 * that gives it back: for a repeat that measures, then waits, then measures no more.
 */
export async function holdExclusive(ctx: Pick<ScenarioContext, 'exclusive'>): Promise<() => void> {
  let release!: () => void
  const held = new Promise<void>((r) => { release = r })
  await new Promise<void>((acquired) => { void ctx.exclusive(async () => { acquired(); await held }) })
  return release
}

/**
 * Resolves once every instance of `env` has seen all client connections close (their buffers are
 * not state), polling its counters every few ms, or after `maxMs` whatever the count: a state reading
 * then waits for the condition rather than a fixed pause (100 ms, where the close usually takes a few).
 */
export async function connectionsClosed(env: CellEnv, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs
  while (performance.now() < deadline) {
    const stats = await Promise.all(env.instances.map((i) => i.stats()))
    if (stats.every((s) => s.openConnections === 0)) return
    await sleep(5)
  }
}
