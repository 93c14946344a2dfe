import { detectBalancer } from '../harness/balancer.ts'
import type { ConnectionPlan } from '../harness/load.ts'
import { loginPopulation } from '../harness/population.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { measuredLoad, metricsRepeat, profileFor, summarizeMetrics } from './common.ts'
import type { CellPlan, MetricDecl, Scenario } from './types.ts'

interface Layout { instances: number; sticky: boolean }

/** Per-credential state kept inside one server process (so another instance does not know it). */
const hasLocalState = (strategy: string) => {
  const def = STRATEGIES[strategy as keyof typeof STRATEGIES]
  return def !== undefined && def.stateful && !def.needsRedis
}

/** Layouts measured per strategy; --quick keeps 2 instances round robin, and sticky only where it matters (local state). */
export function scaleOutLayouts(quick: boolean, strategy: string): Layout[] {
  return quick
    ? [{ instances: 2, sticky: false }, ...(hasLocalState(strategy) ? [{ instances: 2, sticky: true }] : [])]
    : [{ instances: 1, sticky: false }, { instances: 2, sticky: false }, { instances: 2, sticky: true }, { instances: 4, sticky: false }, { instances: 4, sticky: true }]
}

const TWO_CORE_NOTE = 'on a 2-core machine every instance (and the balancer) shares the servers\' one core: requests/s cannot grow with instances here, and CPU per request rises with co-location (in one check for jwt: 179 µs with 1 instance, 408 µs with 2 instances, 710 µs with 2 behind HAProxy). These cells show who gets refused and how load and Redis traffic spread; compare them with each other, not with the throughput scenario. The projection divides server CPU by Redis CPU per request measured in the same window; the 1-instance cell gives the least distorted one'

/** What this scenario reports (units and directions: see MetricDecl). */
export const METRICS: readonly MetricDecl[] = [
  { name: 'authFailureShare', label: 'auth failures', unit: 'share', meaning: 'share of authenticated requests refused (a credential the receiving instance does not know)', better: 'lower', headline: true },
  { name: 'expectedFailureShareIfStateIsLocal', label: 'expected if state is local', unit: 'share', meaning: '(N−1)/N without stickiness, 0 with it', better: 'neither' },
  { name: 'instances', label: 'instances', unit: 'count', meaning: 'server instances in the cell', better: 'neither' },
  { name: 'requestsPerSec', label: 'throughput', unit: 'req/s', meaning: 'requests per second through the balancer', better: 'higher' },
  { name: 'serverCpuMicrosPerRequest', label: 'CPU per request', unit: 'µs/req', meaning: 'server CPU per request over all instances', better: 'lower' },
  { name: 'serverConnectionsPerRequest', label: 'connections per request', unit: 'conn/req', meaning: 'new connections the servers accepted per request', better: 'lower' },
  { name: 'redisCommandsPerRequest', label: 'Redis commands', unit: 'cmd/req', meaning: 'Redis commands per request', better: 'lower' },
  { name: 'redisCpuMicrosPerRequest', label: 'Redis CPU', unit: 'µs/req', meaning: 'Redis CPU per request', better: 'lower' },
  { name: 'busiestInstanceRequestShare', label: 'busiest instance', unit: 'share', meaning: 'share of requests the busiest instance answered', better: 'neither' },
  { name: 'projectedInstancesAtRedisSaturation', label: 'instances one Redis can serve', unit: 'instances', meaning: 'server CPU per request ÷ Redis CPU per request: instances at which one Redis core saturates', better: 'higher', headline: true },
]

/**
 * scale-out — 1, 2 and 4 instances behind round robin (a real balancer where the machine has one,
 * else autocannon's multi-URL), sticky and not: the share of authenticated requests refused, per
 * request costs, Redis load, and a projection of the instance count at which a shared Redis saturates.
 */
export const scaleOut: Scenario = {
  name: 'scale-out',
  description: 'N instances behind round robin, sticky and not: failure share of authenticated requests, CPU per request, Redis load, and where a shared Redis saturates',
  claims: ['JWT "scales better", sessions "moderately"', 'horizontal scaling of sessions "needs a shared store"'],
  metrics: METRICS,

  plan(options) {
    const lb = options.balancer === 'none' ? null : detectBalancer()
    const cells: CellPlan[] = []
    for (const strategy of options.strategies) {
      const profile = profileFor(strategy, options)
      for (const { instances, sticky } of scaleOutLayouts(options.quick, strategy)) {
        if (instances === 1 && sticky) continue
        const canStick = lb?.kind === 'haproxy' && (options.balancer === 'auto' || options.balancer === 'haproxy')
        cells.push({
          id: `scale-out/${strategy}/${profile}/HS256/x${instances}${instances > 1 ? (sticky ? '-sticky' : '-roundrobin') : ''}`,
          scenario: 'scale-out', claims: this.claims,
          env: { strategy, profile, alg: 'HS256', instances, balancer: lb && instances > 1 ? options.balancer === 'none' ? 'none' : options.balancer : 'none', sticky },
          ...(sticky && !canStick ? { skipReason: 'sticky sessions need HAProxy (apt-get install -y haproxy); open-source nginx and multi-URL cannot stick by cookie' } : {}),
        })
      }
    }
    return cells
  },

  estimateRepeatSec: (o) => 1 + Math.max(0.5, o.durationSec / 4),

  async runRepeat(ctx, env, _cell, index) {
    const { options, signal } = ctx
    const startedAt = new Date().toISOString()
    const n = env.instances.length
    const users = Math.min(options.users, 200)
    ctx.status(`logging in ${users} users`)
    const creds = await loginPopulation(env.urls, users, signal)
    // Through a balancer every connection goes to it. Without one (multi-URL), each connection is
    // tied to one instance and carries users logged in on every instance: a per-connection round robin.
    const C = options.connections
    const plans: ConnectionPlan[] = Array.from({ length: C }, (_, k) => ({ url: env.urls[k % env.urls.length]!, requests: [] }))
    creds.forEach((cred, i) => plans[Math.floor(i / env.urls.length) % C]!.requests.push({ method: 'GET', path: '/me', headers: cred.headers }))
    ctx.status('warming up')
    const warm = plans.filter((p) => p.requests.length > 0)
    if (options.warmupSec > 0) await measuredLoad(env, '/me', warm, { durationSec: options.warmupSec }, signal)
    ctx.status('measuring')
    const w = await measuredLoad(env, '/me', plans.filter((p) => p.requests.length > 0), { durationSec: Math.max(0.5, options.durationSec / 4) }, signal)
    const perInstance = await Promise.all(env.instances.map((i) => i.stats()))
    const total = Object.values(w.statusCodes).reduce((a, b) => a + b, 0)
    const serverCpu = w.serverCpuMicrosPerRequest
    const redisCpu = w.redisCpuMicrosPerRequest
    const localState = hasLocalState(env.spec.strategy)
    return metricsRepeat(index, startedAt, {
      instances: n,
      authFailureShare: total ? w.non2xx / total : null,
      expectedFailureShareIfStateIsLocal: localState && !env.spec.sticky ? (n - 1) / n : 0,
      requestsPerSec: w.requestsPerSec,
      serverCpuMicrosPerRequest: serverCpu,
      serverConnectionsPerRequest: w.connectionsPerRequest,
      redisCommandsPerRequest: w.redisCommandsPerRequest,
      redisCpuMicrosPerRequest: redisCpu,
      busiestInstanceRequestShare: perInstance.length > 1 ? Math.max(...perInstance.map((s) => s.requestsTotal)) / perInstance.reduce((a, s) => a + s.requestsTotal, 0) : 1,
      // each instance on a core of its own serves 1e6/serverCpu req/s; a single-threaded Redis saturates at 1e6/redisCpu
      projectedInstancesAtRedisSaturation: serverCpu !== null && redisCpu && (w.redisCommandsPerRequest ?? 0) >= 0.5 ? serverCpu / redisCpu : null,
    }, [w], [TWO_CORE_NOTE, ...(env.balancer ? [`${env.balancer.kind} ${env.spec.sticky ? 'cookie-sticky' : 'round robin'}`] : [n > 1 ? 'multi-URL round robin per connection (no balancer)' : 'one instance']), ...(env.redisProbe && (w.redisCommandsPerRequest ?? 0) >= 0.5 ? [] : ['no shared store on the request path: nothing shared to saturate'])])
  },

  summarize: summarizeMetrics,
}
