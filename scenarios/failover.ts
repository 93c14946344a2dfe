import { detectBalancer, STICKY_COOKIE } from '../harness/processes/balancer.ts'
import { loginUser, type Credential } from '../harness/load/credentials.ts'
import { loginPopulation, type IssuedCredential } from '../harness/load/population.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { metricsRepeat, profileFor, sleep, summarizeMetrics } from './common.ts'
import type { CellPlan, ChartDecl, MetricDecl, MetricNameOf, Scenario, ScenarioContext } from '../harness/run/scenario.ts'
import type { CellEnv } from '../harness/processes/env-spec.ts'
import { isOwned } from '../harness/processes/instances.ts'

/** Users logged in before the kill (each probed before and after it). */
const usersFor = (quick: boolean) => (quick ? 50 : 100)
const REDIS_DOWN_MS = 1000
const QUICK_REDIS_DOWN_MS = 500

async function meStatus(url: string, headers: Record<string, string>, timeoutMs = 5000): Promise<number> {
  try {
    const res = await fetch(`${url}/me`, { headers, signal: AbortSignal.timeout(timeoutMs) })
    await res.arrayBuffer()
    return res.status
  } catch {
    return 0 // connection refused or timed out
  }
}

/** What this scenario reports (units and directions: see MetricDecl). */
export const METRICS = [
  { name: 'lostLoginShareAfterKill', label: 'logins lost on instance kill', unit: 'share', meaning: 'share of users logged out when one of two instances is killed', better: 'lower', headline: true },
  { name: 'redisOutageNon2xxShare', label: 'non-2xx during Redis outage', unit: 'share', meaning: 'share of /me probes refused or failed while Redis was down', better: 'lower' },
  { name: 'redisOutageFiveXxShare', label: '5xx during Redis outage', unit: 'share', meaning: 'share of /me probes answered 5xx while Redis was down', better: 'lower', headline: true },
  { name: 'redisRecoverySec', label: 'recovery', unit: 's', meaning: 'from Redis back up to the first successful login + /me', better: 'lower' },
  { name: 'loginsSurvivedRedisRestartShare', label: 'logins surviving a Redis restart', unit: 'share', meaning: 'share of users still logged in after Redis restarts empty', better: 'higher' },
  { name: 'revokedTokenAcceptedAfterRedisRestart', label: 'revoked token resurrected', unit: 'count', meaning: '1 when a credential revoked before the Redis restart is accepted after it', better: 'lower', headline: true },
] as const satisfies readonly MetricDecl[]

/**
 * Restarts the private Redis under /me probes from users the survivor serves: what the outage answers,
 * when a fresh login works again, whose logins survive, and whether a credential logged out before
 * the restart is accepted after it.
 */
async function redisRestart(ctx: ScenarioContext, env: CellEnv, stillIn: IssuedCredential[], viaBalancer: boolean): Promise<{ metrics: Record<string, number | null>; note: string }> {
  ctx.status('restarting Redis')
  const metrics: Record<string, number | null> = {}
  const survivor = viaBalancer ? env.urls[0]! : env.instances[1]!.url
  // probe with users the balancer routes to the survivor directly (not via a retry to the dead instance)
  const onSurvivor = (c: IssuedCredential) => (viaBalancer ? c.cookies[STICKY_COOKIE] !== 's0' : c.urlIndex !== 0)
  const probeCreds = stillIn.filter(onSurvivor).slice(0, 10)
  let revoked: Credential | null = null
  if (STRATEGIES[env.spec.strategy].stateful) {
    // a credential logged out before the restart: does the restart bring it back? (only
    // meaningful where logout made /me refuse it: a denylist that Redis forgets, say)
    const c = await loginUser(survivor, 99)
    await fetch(`${survivor}/logout`, { method: 'POST', headers: c.headers })
    if ((await meStatus(survivor, c.headers)) !== 200) revoked = c
  }
  const samples: Array<{ atMs: number; code: number }> = []
  let probing = true
  const prober = (async () => {
    let k = 0
    while (probing) {
      const c = probeCreds[k++ % Math.max(1, probeCreds.length)]
      const atMs = performance.now() // when the request was sent
      samples.push({ atMs, code: c ? await meStatus(survivor, c.headers, 3000) : 0 })
      await sleep(10)
    }
  })()
  await sleep(100)
  const downMs = ctx.options.quick ? QUICK_REDIS_DOWN_MS : REDIS_DOWN_MS
  const { downAtMs, upAtMs } = await ctx.orchestrator.restartRedis(downMs)
  // recovery: a fresh login and /me answer again
  let recoveredAtMs: number | null = null
  for (let t = 0; t < 100 && recoveredAtMs === null; t++) {
    try {
      const c = await loginUser(survivor, 50 + (t % 40))
      if ((await meStatus(survivor, c.headers)) === 200) recoveredAtMs = performance.now()
    } catch { await sleep(50) }
  }
  probing = false
  await prober
  const during = samples.filter((s) => s.atMs > downAtMs + 20 && s.atMs < upAtMs)
  metrics.redisOutageNon2xxShare = during.length ? during.filter((s) => s.code !== 200).length / during.length : null
  metrics.redisOutageFiveXxShare = during.length ? during.filter((s) => s.code >= 500).length / during.length : null
  metrics.redisRecoverySec = recoveredAtMs === null ? null : (recoveredAtMs - upAtMs) / 1000
  const survived = await Promise.all(probeCreds.map((c) => meStatus(survivor, c.headers)))
  metrics.loginsSurvivedRedisRestartShare = probeCreds.length ? survived.filter((s) => s === 200).length / probeCreds.length : null
  if (revoked) metrics.revokedTokenAcceptedAfterRedisRestart = (await meStatus(survivor, revoked.headers)) === 200 ? 1 : 0
  const codes = [...new Set(during.map((s) => s.code))].sort().join(', ')
  return { metrics, note: `Redis down for ${downMs} ms (${during.length} probes answered ${codes || 'nothing'}); it restarts empty (no persistence), as a cache-only Redis would` }
}

/** The report's charts of this scenario. */
const CHARTS: ReadonlyArray<ChartDecl<MetricNameOf<typeof METRICS>>> = [
  { title: 'Logins lost when one of two instances is killed', series: [{ metric: 'lostLoginShareAfterKill' }] },
  { title: 'During a Redis outage: share of 5xx answers', series: [{ metric: 'redisOutageFiveXxShare' }] },
  { title: 'Seconds to recover after Redis is back', series: [{ metric: 'redisRecoverySec' }] },
  { title: 'Revoked tokens accepted again after a Redis restart', series: [{ metric: 'revokedTokenAcceptedAfterRedisRestart' }] },
]

/**
 * failover — (1) kill one of two instances mid-run and count the users who lose their login;
 * (2) for Redis-backed strategies on the private Redis, restart Redis (no persistence, as started)
 * and record the errors while it is down, the time to recover, which logins survived, and whether a
 * token revoked before the restart is accepted after it. jwt-denylist fails closed while Redis is
 * down (503): a documented choice.
 */
export const failover: Scenario = {
  name: 'failover',
  description: 'kill one of N instances: share of users who lose their login; restart Redis: errors, recovery time, and what survives',
  claims: ['sessions need a shared store to survive an instance', 'stateless tokens survive anything but key loss'],
  metrics: METRICS,
  targetMode: { skip: 'it kills an instance and restarts Redis, which only a run that started them may do' },
  charts: CHARTS,
  freshEnvPerRepeat: true,
  damagesEnv: true,
  repeats: (o) => o.metricsRepeats,

  plan(options) {
    const lb = options.balancer === 'none' ? null : detectBalancer()
    return options.strategies.map((strategy): CellPlan => {
      const profile = profileFor(strategy, options)
      const sticky = lb?.kind === 'haproxy'
      return {
        id: `failover/${strategy}/${profile}/HS256/x2`, scenario: 'failover', claims: this.claims,
        env: { strategy, profile, alg: 'HS256', instances: 2, balancer: sticky ? 'haproxy' : 'none', sticky },
      }
    })
  },

  // the mean over the planned cells, measured on the 2-core machine (without Redis quick ≈ 0.5 s,
  // with it ≈ 1.6 s): logins, probes and the kill (HAProxy redispatches within 0.2 s); for
  // Redis-backed strategies also the Redis restart (its downtime, start and recovery)
  estimateRepeatSec(o) {
    const perCell = o.strategies.map((s) => (o.quick ? 0.55 : 0.9) + (STRATEGIES[s].needsRedis ? (o.quick ? QUICK_REDIS_DOWN_MS : REDIS_DOWN_MS) / 1000 + 0.6 : 0))
    return perCell.reduce((a, b) => a + b, 0) / Math.max(1, perCell.length)
  },

  async runRepeat(ctx, env, _cell, index) {
    const startedAt = new Date().toISOString()
    const notes: string[] = []
    const viaBalancer = env.balancer !== null
    notes.push(viaBalancer ? 'HAProxy cookie-sticky in front of 2 instances, with redispatch to the survivor' : 'no HAProxy: each user talks to the instance that logged them in, and moves to the survivor')
    ctx.status('logging in')
    const creds: IssuedCredential[] = await loginPopulation(env.urls, usersFor(ctx.options.quick), ctx.signal)
    const urlFor = (c: IssuedCredential, dead: number | null) => (viaBalancer ? env.urls[0]! : env.urls[c.urlIndex === dead ? 1 - dead : c.urlIndex]!)
    const before = await Promise.all(creds.map((c) => meStatus(urlFor(c, null), c.headers)))

    ctx.status('killing an instance')
    const victim = env.instances[0]!
    if (!isOwned(victim)) throw new Error('failover kills an instance: it needs one the harness started')
    victim.process.kill('SIGKILL')
    await new Promise((r) => (victim.process.exitCode !== null || victim.process.signalCode !== null ? r(null) : victim.process.once('exit', r)))
    const after = await Promise.all(creds.map((c) => meStatus(urlFor(c, 0), c.headers)))
    const okBefore = before.filter((s) => s === 200).length
    const lost = creds.filter((_, i) => before[i] === 200 && after[i] !== 200).length

    const metrics: Record<string, number | null> = {
      usersLoggedIn: okBefore,
      lostLoginShareAfterKill: okBefore ? lost / okBefore : null,
      redisOutageNon2xxShare: null,
      redisOutageFiveXxShare: null,
      redisRecoverySec: null,
      loginsSurvivedRedisRestartShare: null,
      revokedTokenAcceptedAfterRedisRestart: null,
    }

    if (STRATEGIES[env.spec.strategy].needsRedis) {
      if (!ctx.orchestrator.canRestartRedis()) notes.push('Redis restart skipped: the run uses REDIS_URL, which authbench does not own')
      else {
        const restart = await redisRestart(ctx, env, creds.filter((c, i) => after[i] === 200), viaBalancer)
        Object.assign(metrics, restart.metrics)
        notes.push(restart.note)
      }
    }
    return metricsRepeat(index, startedAt, metrics, [], notes)
  },

  summarize: summarizeMetrics,
}
