import { readRedisInfo } from '../harness/probes.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { loginPlans, measuredLoad, metricsRepeat, profileFor, summarizeMetrics } from './common.ts'
import type { CellPlan, MetricDecl, Scenario } from './types.ts'

const WARMUP_LOGINS = 500
const QUICK_WARMUP_LOGINS = 200

/** Credential counts to measure at: 10 000 and 100 000 where the server keeps state per credential. */
export function memorySteps(quick: boolean, stateful: boolean): number[] {
  if (quick) return [1000]
  return stateful ? [10_000, 100_000] : [10_000]
}

/** What this scenario reports (units and directions: see MetricDecl). */
export const METRICS: readonly MetricDecl[] = [
  { name: 'heapBytesPerCredentialAt*', label: 'heap per credential', unit: 'B/credential', meaning: 'server heap growth per live credential after a forced GC', better: 'lower', headline: true },
  { name: 'redisBytesPerCredentialAt*', label: 'Redis per credential', unit: 'B/credential', meaning: 'Redis used_memory growth per live credential', better: 'lower', headline: true },
  { name: 'rssBytesPerCredentialAt*', label: 'RSS per credential', unit: 'B/credential', meaning: 'resident memory growth per credential (allocator growth included)', better: 'lower' },
  { name: 'loginsFailedAt*', label: 'failed logins', unit: 'count', meaning: 'logins that failed while filling the population', better: 'lower' },
]

/**
 * memory — server-side state per active credential, measured: a fresh server (with --expose-gc),
 * N logins, a forced GC, and the heap and RSS growth divided by N; for Redis-backed strategies also
 * Redis `used_memory` growth per credential. Stateless strategies are measured the same way: their
 * figure should be about zero, and is shown as measured, noise included.
 */
export const memory: Scenario = {
  name: 'memory',
  description: 'server-side state per active credential: heap bytes in the server and bytes in Redis, at 10 000 and 100 000 credentials',
  claims: ['sessions cost "server memory"', 'JWT needs "no session storage"'],
  metrics: METRICS,
  freshEnvPerRepeat: true,
  repeats: (o) => (o.quick ? 1 : Math.min(o.repeats, 2)),

  plan(options) {
    return options.strategies.map((strategy): CellPlan => {
      const profile = profileFor(strategy, options)
      const max = Math.max(...memorySteps(options.quick, STRATEGIES[strategy].stateful))
      return {
        id: `memory/${strategy}/${profile}/HS256`, scenario: 'memory', claims: this.claims,
        env: { strategy, profile, alg: 'HS256', instances: 1, balancer: 'none', nodeArgs: ['--expose-gc'], serverArgs: ['--users', String(max + WARMUP_LOGINS)] },
      }
    })
  },

  estimateRepeatSec: (o) => (o.quick ? 3 : 25),

  async runRepeat(ctx, env, _cell, index) {
    const { options, signal } = ctx
    const startedAt = new Date().toISOString()
    const inst = env.instances[0]!
    const steps = memorySteps(options.quick, STRATEGIES[env.spec.strategy].stateful)
    ctx.status('warming up')
    const warmupLogins = options.quick ? QUICK_WARMUP_LOGINS : WARMUP_LOGINS
    await measuredLoad(env, '/login', loginPlans(env.urls, 1, warmupLogins, options.connections), { roundsPerConnection: 1 }, signal)
    const base = await inst.stats({ gc: true })
    const redisBase = env.redisProbe ? (await readRedisInfo(env.redisProbe)).usedMemoryBytes : null
    const metrics: Record<string, number | null> = {}
    const windows = []
    let done = 0
    for (const n of steps) {
      ctx.status(`${n} credentials`)
      const w = await measuredLoad(env, '/login', loginPlans(env.urls, warmupLogins + 1 + done, n - done, options.connections), { roundsPerConnection: 1 }, signal)
      windows.push(w)
      done = n
      const s = await inst.stats({ gc: true })
      metrics[`heapBytesPerCredentialAt${n}`] = (s.heapUsedBytes - base.heapUsedBytes) / n
      metrics[`rssBytesPerCredentialAt${n}`] = (s.rssBytes - base.rssBytes) / n
      metrics[`redisBytesPerCredentialAt${n}`] = env.redisProbe && redisBase !== null ? ((await readRedisInfo(env.redisProbe)).usedMemoryBytes - redisBase) / n : null
      metrics[`loginsFailedAt${n}`] = w.non2xx + w.errors
    }
    return metricsRepeat(index, startedAt, metrics, windows, [`heap measured after a forced GC in the server, relative to the heap after ${warmupLogins} warm-up logins`])
  },

  summarize: summarizeMetrics,
}
