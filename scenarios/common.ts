import type { Redis } from 'ioredis'
import { runLoad, type ConnectionPlan } from '../harness/load.ts'
import type { CellEnv } from '../harness/orchestrator.ts'
import type { BenchOptions } from '../harness/options.ts'
import { measureWindow, takeSample } from '../harness/probes.ts'
import type { MetricsRepeat, MetricsSummary, RepeatResult, WindowMeasurement } from '../harness/results.ts'
import { estimate } from '../harness/stats.ts'
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
 * Keys under `prefix` (a cell's own prefix in a shared Redis), counted with SCAN, which never blocks
 * Redis as KEYS would. SCAN may return a key twice while the keyspace is resized: keys are deduplicated.
 */
export async function countRedisKeys(redis: Redis, prefix: string): Promise<number> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
  const seen = new Set<string>()
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    for (const k of keys) seen.add(k)
  } while (cursor !== '0')
  return seen.size
}

/** One measured window of load: servers, Redis and generator sampled around it. */
export async function measuredLoad(env: CellEnv, path: string, plans: ConnectionPlan[], how: { durationSec?: number; roundsPerConnection?: number }, signal?: AbortSignal): Promise<WindowMeasurement> {
  const before = await takeSample(env.instances, env.redisProbe)
  const load = await runLoad({ connections: plans, ...how, ...(signal ? { signal } : {}) })
  return measureWindow(path, before, await takeSample(env.instances, env.redisProbe), load)
}

/** Connection plans for POST /login that cycle through users first…first+count-1. */
export function loginPlans(urls: readonly string[], first: number, count: number, connections: number): ConnectionPlan[] {
  const c = Math.min(connections, count)
  return Array.from({ length: c }, (_, k) => ({
    url: urls[k % urls.length]!,
    requests: Array.from({ length: Math.ceil((count - k) / c) }, (_, j) => {
      const i = first + k + j * c
      return { method: 'POST' as const, path: '/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: `user${i}`, password: `pw-user${i}` }) }
    }),
  }))
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
