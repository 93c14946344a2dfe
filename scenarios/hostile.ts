import { createHmac, randomBytes } from 'node:crypto'
import type { Credential } from '../harness/load/credentials.ts'
import { runLoad, type ConnectionPlan } from '../harness/load/load.ts'
import type { CellEnv } from '../harness/processes/env-spec.ts'
import { connectionPlans, loginPopulation } from '../harness/load/population.ts'
import type { WindowMeasurement } from '../harness/results/results.ts'
import { loadKeyMaterial } from '../servers/secrets.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import type { BenchOptions } from '../harness/run/options.ts'
import { connectionsClosed, countRedisKeys, measuredLoad, metricsRepeat, pooledCpuMicrosPerRequest, pooledRequestsPerSec, profilesFor, rotated, summarizeMetrics, warmUntilSteady } from './common.ts'
import type { CellPlan, ChartDecl, MetricDecl, MetricNameOf, Scenario } from '../harness/run/scenario.ts'

const HOSTILE_SHARE = 0.2
/**
 * Requests without any credential whose server-side state is counted, per repeat, and unmeasured
 * ones before them. After a warm-up and two forced GCs the heap reading moves by ±25 KB between
 * readings (more after the load windows: ±70 KB per 1 000 requests with 2 000 of them, ±35 KB with
 * 3 000): 3 000 still tell 200 B per request (a stored empty session) from none; 1 500 did not (a Map's
 * backing store grows in steps, and 1 500 entries may not cross one: 56 KB per 1 000 measured).
 */
const anonymousRequestsFor = (o: Readonly<BenchOptions>) => (o.quick ? 3_000 : 5_000)
const anonymousWarmupRequestsFor = (o: Readonly<BenchOptions>) => (o.quick ? 500 : 1_000)
/** Longest wait before reading the state for the server to see the load's connections close (their buffers are not state). */
const SETTLE_MS = 100
/** Unmeasured load on each of the three paths (mixed, refusing, accepting) until its CPU per request settles, and each measured window. */
const warmBoundsFor = (o: Readonly<BenchOptions>) => (o.quick ? { minSec: 0.1, maxSec: 0.1, chunkSec: 0.1 } : { minSec: 0.3, maxSec: 1.2, chunkSec: 0.15, minRequestsPerInstance: 1500 })
const windowSecFor = (o: Readonly<BenchOptions>) => (o.quick ? 0.15 : 0.3)
type Path = 'mixed' | 'refusing' | 'accepting'
const PATHS: readonly Path[] = ['mixed', 'refusing', 'accepting']
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
const flipFirst = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)

/** Invalid credentials of every kind the hostile-input tests check, in this strategy's carrier. */
export function hostileHeaders(strategy: keyof typeof STRATEGIES, valid: Credential, hmacKey: Buffer): Array<Record<string, string>> {
  const now = Math.floor(Date.now() / 1000)
  const sign = (input: string) => createHmac('sha256', hmacKey).update(input).digest('base64url')
  const expiredInput = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: '1', role: 'user', iat: now - 1000, exp: now - 10, jti: 'x'.repeat(16), fam: 'y'.repeat(16) })}`
  const tokens = [
    `${expiredInput}.${sign(expiredInput)}`, // expired, validly signed
    `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: '1', role: 'admin', iat: now, exp: now + 600 })}.`, // alg none
    'eyJ!!!.garbage.***', // malformed
    'x'.repeat(12_000), // large but under the header limit: refused by the auth code
  ]
  const token = valid.accessToken ?? valid.cookies.token
  if (token) {
    const [h, p, s] = token.split('.') as [string, string, string]
    tokens.push(`${h}.${p}.${flipFirst(s)}`) // bad signature
  }
  const carrier = STRATEGIES[strategy].carrier
  const cookieName = Object.keys(valid.cookies)[0] ?? 'token'
  if (carrier === 'bearer') return tokens.map((t) => ({ authorization: `Bearer ${t}` }))
  if (cookieName === 'token') return tokens.map((t) => ({ cookie: `token=${t}` }))
  const value = valid.cookies[cookieName]!
  return [
    { cookie: `${cookieName}=${randomBytes(24).toString('base64url')}` }, // forged, unsigned
    { cookie: `${cookieName}=${flipFirst(value)}` }, // tampered
    { cookie: `${cookieName}=%%%;;;` }, // garbage
    { cookie: `${cookieName}=${'x'.repeat(12_000)}` }, // large
    { cookie: `token=${tokens[1]}` }, // a JWT where a session was expected
  ]
}

/**
 * State the servers keep for requests that carry no credential at all (no cookie, no Authorization):
 * a library that stores a session for every visitor (@fastify/session's saveUninitialized) lets
 * anyone fill the store. Counted, per 1 000 requests the servers answered, as Redis keys under the
 * cell's own prefix (Redis-backed strategies; null otherwise) and as server heap growth after a
 * forced GC (every strategy: in-process stores show here). An unmeasured warm-up comes first, so
 * that the heap figure holds state, not freshly compiled code.
 */
async function stateFromAnonymousRequests(
  env: CellEnv, requests: number, warmupRequests: number, connections: number, signal: AbortSignal,
): Promise<{ window: WindowMeasurement; redisKeysPer1k: number | null; heapBytesPer1k: number | null }> {
  const c = Math.min(connections, requests)
  const plans: ConnectionPlan[] = Array.from({ length: c }, (_, k) => ({ url: env.urls[k % env.urls.length]!, requests: [{ method: 'GET', path: '/me', headers: {} }] }))
  await runLoad({ connections: plans, roundsPerConnection: Math.ceil(warmupRequests / c), signal })
  const state = async () => {
    await connectionsClosed(env, SETTLE_MS)
    // two forced GCs: the first may leave finalisable objects behind
    await Promise.all(env.instances.map((i) => i.stats({ gc: true })))
    const stats = await Promise.all(env.instances.map((i) => i.stats({ gc: true })))
    return {
      heapBytes: stats.reduce((n, s) => n + s.heapUsedBytes, 0),
      redisKeys: env.redisProbe ? await countRedisKeys(env.redisProbe, env.redisPrefix) : null,
    }
  }
  const before = await state()
  const window = await measuredLoad(env, '/me', plans, { roundsPerConnection: Math.ceil(requests / c) }, signal)
  const after = await state()
  const per1k = (delta: number) => (window.serverRequests > 0 ? (delta * 1000) / window.serverRequests : null)
  return {
    window,
    redisKeysPer1k: before.redisKeys !== null && after.redisKeys !== null ? per1k(after.redisKeys - before.redisKeys) : null,
    heapBytesPer1k: per1k(after.heapBytes - before.heapBytes),
  }
}

/** What this scenario reports (units and directions: see MetricDecl). */
export const METRICS = [
  { name: 'fiveXxCount', label: '5xx answers', unit: 'count', meaning: 'server errors in any of the scenario\'s load: invalid credentials, valid ones, none at all', better: 'lower', headline: true, invariant: { max: 0, why: 'an invalid credential must get a 4xx, never a 5xx' } },
  { name: 'hostileAcceptedCount', label: 'invalid accepted', unit: 'count', meaning: 'invalid credentials answered with a non-4xx', better: 'lower', headline: true, invariant: { max: 0, why: 'a forged, expired or tampered credential must never be accepted' } },
  { name: 'crashedInstances', label: 'crashed instances', unit: 'count', meaning: 'instances that stopped answering /health', better: 'lower', invariant: { max: 0, why: 'hostile input must not crash a server' } },
  { name: 'refusalCostRatio', label: 'refusal ÷ acceptance', unit: 'ratio', meaning: 'CPU per refused request over CPU per accepted request', better: 'lower', headline: true },
  { name: 'cpuMicrosPerRefusal', label: 'CPU per refusal', unit: 'µs/req', meaning: 'server CPU per refused invalid request', better: 'lower' },
  { name: 'cpuMicrosPerAcceptance', label: 'CPU per acceptance', unit: 'µs/req', meaning: 'server CPU per accepted valid request', better: 'lower' },
  { name: 'mixedRefusedShare', label: 'refused in mixed load', unit: 'share', meaning: 'share refused when 20 % of the load is invalid', better: 'neither' },
  { name: 'refusalsPerSec', label: 'refusals', unit: 'req/s', meaning: 'refusals answered per second', better: 'higher' },
  { name: 'redisKeysPer1kAnonymousRequests', label: 'Redis keys per 1k anonymous', unit: 'keys/1k req', meaning: 'Redis keys created under the cell\'s prefix by 1 000 requests carrying no credential (null where the strategy uses no Redis)', better: 'lower', headline: true },
  { name: 'heapBytesPer1kAnonymousRequests', label: 'heap per 1k anonymous', unit: 'B/1k req', meaning: 'server heap growth after a forced GC from 1 000 requests carrying no credential (in-process stores show here; a stored empty session is ≈ 200 KB, noise up to ±35 KB)', better: 'lower', headline: true },
] as const satisfies readonly MetricDecl[]

/** The report's charts of this scenario. */
const CHARTS: ReadonlyArray<ChartDecl<MetricNameOf<typeof METRICS>>> = [
  { title: '5xx answers to invalid credentials (must be 0)', series: [{ metric: 'fiveXxCount' }] },
  { title: 'CPU of a refusal relative to an acceptance', series: [{ metric: 'refusalCostRatio' }], rule: { y: 1, label: 'acceptance = 1' } },
  { title: 'State created by 1 000 anonymous requests (Redis keys)', series: [{ metric: 'redisKeysPer1kAnonymousRequests' }] },
]

/**
 * hostile — a share of the load carries invalid credentials (bad signature, expired, garbage,
 * alg none, oversized). All must be refused with a 4xx, with zero 5xx and no crash; and the CPU
 * cost of refusing is measured against the cost of accepting. Every path is warmed up first, and the
 * measured windows run in an order rotated by repeat (default: that order and back, so that each
 * path sits as early as it sits late). Then requests without any credential: the state each one
 * leaves on the server or in Redis.
 */
export const hostile: Scenario = {
  name: 'hostile',
  description: `${HOSTILE_SHARE * 100} % of requests carry invalid credentials: all refused with 4xx, zero 5xx, zero crashes; CPU cost of refusing; server state created per 1 000 anonymous requests`,
  claims: ['every strategy must refuse bad credentials safely; what refusing costs', 'sessions cost "server memory" (here: for visitors who never log in, with some libraries\' defaults)'],
  metrics: METRICS,
  targetMode: 'needs-stats',
  charts: CHARTS,
  repeats: (o) => o.metricsRepeats,

  plan(options) {
    // every requested profile: state created by anonymous requests is a property of a library's defaults
    return options.strategies.flatMap((strategy) => profilesFor(strategy, options).map((profile): CellPlan => ({
      id: `hostile/${strategy}/${profile}/HS256`, scenario: 'hostile', claims: this.claims,
      // --expose-gc: the heap left behind by anonymous requests is read after a forced GC
      env: { strategy, profile, alg: 'HS256', instances: 1, balancer: 'none' },
    })))
  },

  // measured on the 2-core machine: 100 logins, the warm-ups (the first path pays for the cold
  // server, the others settle within a few chunks), the windows, and the anonymous requests
  // (≈ 8 000/s) with four forced GCs and two SCANs
  estimateRepeatSec: (o) => (o.quick ? 0.1 : 0.3) + (o.quick ? 0.45 : 2.2) + (o.quick ? 3 : 6) * (windowSecFor(o) + 0.03) + (anonymousWarmupRequestsFor(o) + anonymousRequestsFor(o)) / 8000 + 2 * 0.08,

  async runRepeat(ctx, env, _cell, index) {
    const { options, signal } = ctx
    const startedAt = new Date().toISOString()
    const creds = await loginPopulation(env.urls, 100, signal)
    const { hmacKey } = loadKeyMaterial({ AUTHBENCH_SECRET: ctx.orchestrator.secret }, 'HS256')
    const bad = hostileHeaders(env.spec.strategy, creds[0]!, hmacKey)
    const valid = connectionPlans(env.urls, creds, options.connections, '/me')
    const every = Math.round(1 / HOSTILE_SHARE)
    const mixed: ConnectionPlan[] = valid.map((p, k) => ({
      url: p.url,
      requests: p.requests.map((r, j) => (j % every === every - 1 ? { ...r, headers: bad[(j + k) % bad.length]! } : r)),
    }))
    const allBad: ConnectionPlan[] = valid.map((p, k) => ({ url: p.url, requests: bad.map((_, j) => ({ method: 'GET', path: '/me', headers: bad[(j + k) % bad.length]! })) }))
    const plans: Record<Path, ConnectionPlan[]> = { mixed, refusing: allBad, accepting: valid }
    ctx.status('warming up')
    const warmSec: string[] = []
    for (const path of PATHS) {
      const warm = await warmUntilSteady(env, '/me', plans[path], warmBoundsFor(options), signal)
      warmSec.push(`${path} ${warm.sec.toFixed(2)} s${warm.steady ? '' : ' (still settling)'}`)
    }
    const once = rotated(PATHS, index)
    const order = options.quick ? once : [...once, ...[...once].reverse()]
    const measured: Record<Path, WindowMeasurement[]> = { mixed: [], refusing: [], accepting: [] }
    const inOrder: WindowMeasurement[] = []
    for (const path of order) {
      ctx.status(`${path} load`)
      const w = await measuredLoad(env, '/me', plans[path], { durationSec: windowSecFor(options) }, signal)
      measured[path].push(w)
      inOrder.push(w)
    }
    ctx.status('anonymous requests')
    const anonymous = await stateFromAnonymousRequests(env, anonymousRequestsFor(options), anonymousWarmupRequestsFor(options), options.connections, signal)
    const count = (ws: readonly WindowMeasurement[], f: (code: number) => boolean) => ws.reduce((n, w) => n + Object.entries(w.statusCodes).reduce((m, [c, k]) => (f(Number(c)) ? m + k : m), 0), 0)
    const all = [...inOrder, anonymous.window]
    const fiveXx = count(all, (c) => c >= 500)
    const refusedWrongly = count(measured.refusing, (c) => c < 400 || c >= 500)
    const alive = (await Promise.all(env.instances.map((i) => fetch(`${i.url}/health`).then((r) => r.status === 200, () => false)))).every(Boolean)
    const mixTotal = count(measured.mixed, () => true)
    const refusal = pooledCpuMicrosPerRequest(measured.refusing)
    const acceptance = pooledCpuMicrosPerRequest(measured.accepting)
    return metricsRepeat(index, startedAt, {
      fiveXxCount: fiveXx,
      hostileAcceptedCount: refusedWrongly,
      crashedInstances: alive ? 0 : env.instances.length,
      mixedRefusedShare: mixTotal ? count(measured.mixed, (c) => c >= 400 && c < 500) / mixTotal : null,
      cpuMicrosPerRefusal: refusal,
      cpuMicrosPerAcceptance: acceptance,
      refusalCostRatio: refusal !== null && acceptance ? refusal / acceptance : null,
      refusalsPerSec: pooledRequestsPerSec(measured.refusing),
      redisKeysPer1kAnonymousRequests: anonymous.redisKeysPer1k,
      heapBytesPer1kAnonymousRequests: anonymous.heapBytesPer1k,
    }, all, [
      `${bad.length} kinds of invalid credential, ${HOSTILE_SHARE * 100} % of the mixed load`,
      `each path warmed up until its CPU per request settled (${warmSec.join(', ')}), then measured in ${windowSecFor(options)} s windows in this order: ${order.join(', ')}; CPU per refusal and per acceptance pooled over their windows`,
      `state per 1 000 anonymous requests: ${anonymous.window.serverRequests} GET /me without any credential; Redis keys under the cell's prefix (SCAN) and server heap after two forced GCs, before and after`,
    ])
  },

  summarize: summarizeMetrics,
}
