import { detectBalancer } from '../harness/processes/balancer.ts'
import type { ConnectionPlan } from '../harness/load/load.ts'
import type { CellEnv } from '../harness/processes/env-spec.ts'
import type { BenchOptions } from '../harness/run/options.ts'
import { loginPopulation, type IssuedCredential } from '../harness/load/population.ts'
import type { Cell, WindowMeasurement } from '../harness/results/results.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { measuredLoad, median, metricsRepeat, profileFor, rotated, summarizeMetrics, warmUntilSteady } from './common.ts'
import type { CellPlan, ChartDecl, MetricDecl, MetricNameOf, Scenario } from '../harness/run/scenario.ts'
import { windowResponses } from '../harness/results/windows.ts'

/** How a scale-out cell of several instances routes: its id ends in this suffix. Declared once; the report reads cells by it. */
export const LAYOUT_SUFFIX = { roundRobin: '-roundrobin', sticky: '-sticky' } as const
export type Routing = keyof typeof LAYOUT_SUFFIX
/** How a scale-out cell routes (null: one instance, or not a scale-out cell). */
export function layoutOf(cell: { id: string }): Routing | null {
  for (const routing of Object.keys(LAYOUT_SUFFIX) as Routing[]) if (cell.id.endsWith(LAYOUT_SUFFIX[routing])) return routing
  return null
}

interface Layout { instances: number; sticky: boolean }

/** Per-credential state kept inside one server process (so another instance does not know it). */
const hasLocalState = (strategy: string) => {
  const def = STRATEGIES[strategy as keyof typeof STRATEGIES]
  return def !== undefined && def.stateful && !def.needsRedis
}

/**
 * May have a shared Redis on every request's path, for the time estimate: whether it does is measured
 * (Redis commands per request); `refresh` needs Redis for refresh tokens only, and is over-estimated.
 */
const mayAskRedisPerRequest = (strategy: string) => STRATEGIES[strategy as keyof typeof STRATEGIES]?.needsRedis === true

/**
 * Layouts measured per strategy: 1 instance and 2 behind round robin (--quick: 2 only), plus 2
 * sticky where state is local to a process (sticky changes nothing for the others). `wide` adds
 * 4 instances, round robin and (where it matters) sticky: no option asks for it yet.
 */
export function scaleOutLayouts(quick: boolean, strategy: string, wide = false): Layout[] {
  const sticky = hasLocalState(strategy)
  return [
    ...(quick ? [] : [{ instances: 1, sticky: false }]),
    { instances: 2, sticky: false },
    ...(sticky ? [{ instances: 2, sticky: true }] : []),
    ...(wide && !quick ? [{ instances: 4, sticky: false }, ...(sticky ? [{ instances: 4, sticky: true }] : [])] : []),
  ]
}

/** Users logged in per cell; each connection cycles through its share. */
const usersFor = (o: Readonly<BenchOptions>) => Math.min(o.users, o.quick ? 100 : 200)
/** The layout's measured window, and its warm-up. */
const windowSecFor = (o: Readonly<BenchOptions>) => (o.quick ? 0.25 : 0.75)
/** Warm-up until CPU per request has settled, within these bounds (two cold instances sharing a core take ≈ 3 s; --quick stops sooner, and says so). */
const warmBoundsFor = (o: Readonly<BenchOptions>) => (o.quick ? { minSec: 0.2, maxSec: 0.35, chunkSec: 0.12, minRequestsPerInstance: 3000 } : { minSec: 0.5, maxSec: 3.5, minRequestsPerInstance: 3000 })
/** The projection's windows: per load level, and their warm-up; levels are the cell's connections and 4× as many. */
const PROJECTION_LOAD_FACTORS = [1, 4] as const
const projectionWindowsPerLevel = (o: Readonly<BenchOptions>) => (o.quick ? 1 : 2)
const projectionWindowSecFor = (o: Readonly<BenchOptions>) => (o.quick ? 0.2 : 0.3)

const TWO_CORE_NOTE = 'on a 2-core machine every instance (and the balancer) shares the servers\' one core: requests/s cannot grow with instances here, and instances that share it also take longer to warm up (each gets a share of the load). These cells show who gets refused and how load and Redis traffic spread; compare them with each other, not with the throughput scenario'

/** What this scenario reports (units and directions: see MetricDecl). */
export const METRICS = [
  { name: 'authFailureShare', label: 'auth failures', unit: 'share', meaning: 'share of authenticated requests refused (a credential the receiving instance does not know)', better: 'lower', headline: true },
  { name: 'expectedFailureShareIfStateIsLocal', label: 'expected if state is local', unit: 'share', meaning: '(N−1)/N without stickiness, 0 with it', better: 'neither' },
  { name: 'instances', label: 'instances', unit: 'count', meaning: 'server instances in the cell', better: 'neither' },
  { name: 'requestsPerSec', label: 'throughput', unit: 'req/s', meaning: 'requests per second through the balancer', better: 'higher' },
  { name: 'serverCpuMicrosPerRequest', label: 'CPU per request', unit: 'µs/req', meaning: 'server CPU per request over all instances', better: 'lower' },
  { name: 'serverConnectionsPerRequest', label: 'connections per request', unit: 'conn/req', meaning: 'new connections the servers accepted per request', better: 'lower' },
  { name: 'redisCommandsPerRequest', label: 'Redis commands', unit: 'cmd/req', meaning: 'Redis commands per request', better: 'lower' },
  { name: 'redisCpuMicrosPerRequest', label: 'Redis CPU', unit: 'µs/req', meaning: 'Redis CPU per request', better: 'lower' },
  { name: 'busiestInstanceRequestShare', label: 'busiest instance', unit: 'share', meaning: 'share of requests the busiest instance answered', better: 'neither' },
  { name: 'projectedInstancesAtRedisSaturation', label: 'instances one Redis can serve', unit: 'instances', meaning: 'instances (each on a core of its own, fully loaded) at which one Redis core saturates: one warm instance\'s CPU per request ÷ Redis CPU per request; median over the projection windows', better: 'higher', headline: true },
  { name: 'projectedInstancesAtRedisSaturationLow', label: 'instances one Redis can serve, low end', unit: 'instances', meaning: 'the lowest projection of any projection window (both load levels)', better: 'higher' },
  { name: 'projectedInstancesAtRedisSaturationHigh', label: 'instances one Redis can serve, high end', unit: 'instances', meaning: 'the highest projection of any projection window (both load levels)', better: 'higher' },
  { name: 'singleInstanceCpuMicrosPerRequestLowLoad', label: 'one instance\'s CPU, low load', unit: 'µs/req', meaning: 'projection input: CPU per /me of one warm instance alone on the server core, at the cell\'s connection count', better: 'lower' },
  { name: 'singleInstanceCpuMicrosPerRequestHighLoad', label: 'one instance\'s CPU, high load', unit: 'µs/req', meaning: 'the same at 4× the connections', better: 'lower' },
  { name: 'redisCpuMicrosPerCommandLowLoad', label: 'Redis CPU per command, low load', unit: 'µs/cmd', meaning: 'projection input: Redis CPU per command at the cell\'s connection count', better: 'lower' },
  { name: 'redisCpuMicrosPerCommandHighLoad', label: 'Redis CPU per command, high load', unit: 'µs/cmd', meaning: 'the same at 4× the connections (auto-pipelining batches more commands per round trip)', better: 'lower' },
  { name: 'redisCommandsPerSecLowLoad', label: 'Redis load, low', unit: 'cmd/s', meaning: 'the Redis load the low-load input was measured under', better: 'neither' },
  { name: 'redisCommandsPerSecHighLoad', label: 'Redis load, high', unit: 'cmd/s', meaning: 'the Redis load the high-load input was measured under', better: 'neither' },
  { name: 'projectionRedisCommandsPerRequest', label: 'Redis commands per request (projection)', unit: 'cmd/req', meaning: 'projection input: Redis commands per /me on one instance', better: 'lower' },
] as const satisfies readonly MetricDecl[]

/** Projection windows: one instance loaded directly (any other instance and the balancer idle), at two loads. */
async function projection(env: CellEnv, creds: readonly IssuedCredential[], options: Readonly<BenchOptions>, index: number, signal: AbortSignal) {
  const one: CellEnv = { ...env, instances: [env.instances[0]!], urls: [env.instances[0]!.url] }
  const levels = PROJECTION_LOAD_FACTORS.map((f) => f * options.connections)
  const plansAt = (connections: number): ConnectionPlan[] => {
    const plans: ConnectionPlan[] = Array.from({ length: connections }, () => ({ url: one.urls[0]!, requests: [] }))
    creds.forEach((c, i) => plans[i % connections]!.requests.push({ method: 'GET', path: '/me', headers: c.headers }))
    return plans.filter((p) => p.requests.length > 0)
  }
  const warm = await warmUntilSteady(one, '/me', plansAt(levels[0]!), { ...warmBoundsFor(options), minSec: 0.25 }, signal)
  // a projection from a cold instance would divide the JIT's cost, not the request's
  if (!warm.steady) return { levels, warmSec: warm.sec, windows: [], metrics: null }
  // low, high, high, low (or the reverse in odd repeats): neither level always runs first
  const once = rotated(levels, index)
  const order = projectionWindowsPerLevel(options) > 1 ? [...once, ...[...once].reverse()] : once
  const byLevel = new Map<number, WindowMeasurement[]>(levels.map((c) => [c, []]))
  for (const c of order) byLevel.get(c)!.push(await measuredLoad(one, '/me', plansAt(c), { durationSec: projectionWindowSecFor(options) }, signal))
  const all = [...byLevel.values()].flat()
  const projected = all.flatMap((w) => (w.serverCpuMicrosPerRequest !== null && w.redisCpuMicrosPerRequest ? [w.serverCpuMicrosPerRequest / w.redisCpuMicrosPerRequest] : []))
  const at = (c: number, f: (w: WindowMeasurement) => number | null) => median(byLevel.get(c)!.flatMap((w) => { const x = f(w); return x === null ? [] : [x] }))
  const perCommand = (w: WindowMeasurement) => (w.redisCpuMicrosPerRequest !== null && w.redisCommandsPerRequest ? w.redisCpuMicrosPerRequest / w.redisCommandsPerRequest : null)
  const commandsPerSec = (w: WindowMeasurement) => (w.redisCommandsPerRequest !== null ? w.redisCommandsPerRequest * w.requestsPerSec : null)
  const [low, high] = levels as [number, number]
  return {
    levels,
    warmSec: warm.sec,
    windows: all,
    metrics: {
      projectedInstancesAtRedisSaturation: median(projected),
      projectedInstancesAtRedisSaturationLow: projected.length ? Math.min(...projected) : null,
      projectedInstancesAtRedisSaturationHigh: projected.length ? Math.max(...projected) : null,
      singleInstanceCpuMicrosPerRequestLowLoad: at(low, (w) => w.serverCpuMicrosPerRequest),
      singleInstanceCpuMicrosPerRequestHighLoad: at(high, (w) => w.serverCpuMicrosPerRequest),
      redisCpuMicrosPerCommandLowLoad: at(low, perCommand),
      redisCpuMicrosPerCommandHighLoad: at(high, perCommand),
      redisCommandsPerSecLowLoad: at(low, commandsPerSec),
      redisCommandsPerSecHighLoad: at(high, commandsPerSec),
      projectionRedisCommandsPerRequest: median(all.flatMap((w) => (w.redisCommandsPerRequest === null ? [] : [w.redisCommandsPerRequest]))),
    },
  }
}

/**
 * Seconds of one cell-repeat, measured on the 2-core machine (default: 1 instance 3.1–3.3 s, with
 * the projection 5.3–5.6 s, 2 instances 4.6–4.9 s): logins, the warm-up (on the busy machine one
 * instance settled in 1.9–3.3 s, two sharing a core in 3.1–4 s; --quick stops at its
 * limit), the window, and the projection where there is one (not in --quick: its instance would
 * not have settled by then).
 */
function cellSec(o: Readonly<BenchOptions>, layout: Layout, projects: boolean): number {
  const { maxSec } = warmBoundsFor(o)
  const warm = o.quick ? maxSec : layout.instances === 1 ? 2.2 : maxSec
  const base = 0.35 + warm + windowSecFor(o) * 1.1
  const proj = o.quick ? 0 : 0.9 + PROJECTION_LOAD_FACTORS.length * projectionWindowsPerLevel(o) * (projectionWindowSecFor(o) + 0.05)
  return base + (projects ? proj : 0)
}

const layoutName = (c: Cell) => (c.instances === 1 ? '1 instance' : `${c.instances} instances, ${layoutOf(c) === 'sticky' ? 'sticky' : 'round robin'}`)
const byStrategy = (c: Cell) => `${c.strategy} ${c.profile}`
/** The report's charts of this scenario. */
const CHARTS: ReadonlyArray<ChartDecl<MetricNameOf<typeof METRICS>>> = [
  { title: 'Share of authenticated requests refused, by layout', series: [{ metric: 'authFailureShare' }], x: byStrategy, group: layoutName },
  { title: 'Projected instances at which one Redis core saturates', series: [{ metric: 'projectedInstancesAtRedisSaturation' }], x: byStrategy, group: layoutName },
]

/**
 * GET /me plans for `connections` connections. Through a balancer every connection goes to it.
 * Without one (multi-URL), each connection is tied to one instance and carries users logged in on
 * every instance: a per-connection round robin.
 */
function meByConnection(env: CellEnv, creds: readonly IssuedCredential[], connections: number): ConnectionPlan[] {
  const plans: ConnectionPlan[] = Array.from({ length: connections }, (_, k) => ({ url: env.urls[k % env.urls.length]!, requests: [] }))
  creds.forEach((cred, i) => plans[Math.floor(i / env.urls.length) % connections]!.requests.push({ method: 'GET', path: '/me', headers: cred.headers }))
  return plans.filter((p) => p.requests.length > 0)
}

/**
 * scale-out — 1 and 2 instances behind round robin (a real balancer where the machine has one,
 * else autocannon's multi-URL), sticky and not: the share of authenticated requests refused, per
 * request costs and Redis load. Where a shared Redis is on every request's path, the strategy's first
 * layout also projects the instance count at which that Redis saturates: one warm instance loaded
 * directly (alone on the server core), at the cell's connections and at 4× as many, gives the
 * server's CPU per request and Redis's CPU per command under a stated load; the projection is
 * reported as a range over those windows, with its inputs.
 */
export const scaleOut: Scenario = {
  name: 'scale-out',
  description: 'N instances behind round robin, sticky and not: failure share of authenticated requests, CPU per request, Redis load, and where a shared Redis saturates',
  claims: ['JWT "scales better", sessions "moderately"', 'horizontal scaling of sessions "needs a shared store"'],
  metrics: METRICS,
  targetMode: { skip: 'it compares layouts (one instance, round robin, sticky) built from servers it starts; measure your own layout with throughput' },
  charts: CHARTS,
  repeats: (o) => o.metricsRepeats,

  plan(options) {
    const lb = options.balancer === 'none' ? null : detectBalancer()
    const cells: CellPlan[] = []
    for (const strategy of options.strategies) {
      const profile = profileFor(strategy, options)
      for (const { instances, sticky } of scaleOutLayouts(options.quick, strategy)) {
        const canStick = lb?.kind === 'haproxy' && (options.balancer === 'auto' || options.balancer === 'haproxy')
        cells.push({
          id: `scale-out/${strategy}/${profile}/HS256/x${instances}${instances > 1 ? LAYOUT_SUFFIX[sticky ? 'sticky' : 'roundRobin'] : ''}`,
          scenario: 'scale-out', claims: this.claims,
          env: { strategy, profile, alg: 'HS256', instances, balancer: lb && instances > 1 ? options.balancer === 'none' ? 'none' : options.balancer : 'none', sticky },
          ...(sticky && !canStick ? { skipReason: 'sticky sessions need HAProxy (apt-get install -y haproxy); open-source nginx and multi-URL cannot stick by cookie' } : {}),
        })
      }
    }
    return cells
  },

  // the mean over the cells the options plan: only each Redis-backed strategy's first layout projects
  estimateRepeatSec(o) {
    const cells = o.strategies.flatMap((s) => scaleOutLayouts(o.quick, s).map((layout, k) => cellSec(o, layout, k === 0 && mayAskRedisPerRequest(s))))
    return cells.reduce((a, b) => a + b, 0) / Math.max(1, cells.length)
  },

  async runRepeat(ctx, env, _cell, index) {
    const { options, signal } = ctx
    const startedAt = new Date().toISOString()
    const n = env.instances.length
    const users = usersFor(options)
    ctx.status(`logging in ${users} users`)
    const creds = await loginPopulation(env.urls, users, signal)
    const active = meByConnection(env, creds, options.connections)
    ctx.status('warming up')
    const warm = await warmUntilSteady(env, '/me', active, warmBoundsFor(options), signal)
    ctx.status('measuring')
    const w = await measuredLoad(env, '/me', active, { durationSec: windowSecFor(options) }, signal)
    const perInstance = await Promise.all(env.instances.map((i) => i.stats()))
    const total = windowResponses(w)
    const localState = hasLocalState(env.spec.strategy)
    const metrics: Record<string, number | null> = {
      instances: n,
      authFailureShare: total ? w.non2xx / total : null,
      expectedFailureShareIfStateIsLocal: localState && !env.spec.sticky ? (n - 1) / n : 0,
      requestsPerSec: w.requestsPerSec,
      serverCpuMicrosPerRequest: w.serverCpuMicrosPerRequest,
      serverConnectionsPerRequest: w.connectionsPerRequest,
      redisCommandsPerRequest: w.redisCommandsPerRequest,
      redisCpuMicrosPerRequest: w.redisCpuMicrosPerRequest,
      busiestInstanceRequestShare: perInstance.length > 1 ? Math.max(...perInstance.map((s) => s.requestsTotal)) / perInstance.reduce((a, s) => a + s.requestsTotal, 0) : 1,
      projectedInstancesAtRedisSaturation: null,
    }
    const warmedNote = warm.steady ? 'until its CPU per request settled' : 'to its limit: its CPU per request had not settled (cold instances: compare this cell\'s costs with care)'
    const routing = env.balancer ? `${env.balancer.kind} ${env.spec.sticky ? 'cookie-sticky' : 'round robin'}` : n > 1 ? 'multi-URL round robin per connection (no balancer)' : 'one instance'
    const notes = [TWO_CORE_NOTE, `warmed up for ${warm.sec.toFixed(2)} s, ${warmedNote}`, routing]
    const windows = [w]
    const first = scaleOutLayouts(options.quick, env.spec.strategy)[0]!
    const projects = env.redisProbe !== null && (w.redisCommandsPerRequest ?? 0) >= 0.5
    if (!projects) {
      notes.push('no shared store on the request path: nothing shared to saturate')
    } else if (options.quick) {
      notes.push('no Redis saturation projection in --quick: it needs one instance warmed up until its CPU per request settles, longer than a smoke run warms')
    } else if (n !== first.instances || (env.spec.sticky ?? false) !== first.sticky) {
      notes.push(`the Redis saturation projection is measured once per strategy, in its ${first.instances}-instance ${first.instances > 1 ? 'round-robin ' : ''}cell`)
    } else {
      ctx.status('projection: one instance, two loads')
      // a credential of any instance works on instance 0 here: the state is in the shared Redis
      const p = await projection(env, creds, options, index, signal)
      if (p.metrics === null) {
        notes.push(`no Redis saturation projection: instance 0 was still warming up after ${p.warmSec.toFixed(1)} s (its CPU per request had not settled)${options.quick ? '; runs without --quick warm up longer' : ''}`)
      } else {
        Object.assign(metrics, p.metrics)
        windows.push(...p.windows)
        notes.push(`projection: instance 0 loaded directly${n > 1 ? ' (the other instance and the balancer idle)' : ''}, alone on the server core, warmed up for ${p.warmSec.toFixed(1)} s until its CPU per request settled, then at ${p.levels.join(' and ')} connections (${p.windows.length} windows of ${projectionWindowSecFor(options)} s); ` +
          `each window gives its CPU per request ÷ Redis CPU per request, an instance count at which one Redis core saturates; ` +
          `reported as their median and range. Redis here shares its core with the load generator; ` +
          `its CPU per command falls as load rises (auto-pipelining), so a Redis saturated by many instances may serve more than the high end`)
      }
    }
    return metricsRepeat(index, startedAt, metrics, windows, notes)
  },

  summarize: summarizeMetrics,
}
