import { loginUser, type Credential } from '../harness/load/credentials.ts'
import { h2Close, h2Connect, h2Login, h2Request } from '../harness/load/h2.ts'
import type { CellEnv } from '../harness/processes/env-spec.ts'
import type { ConnectionPlan } from '../harness/load/load.ts'
import type { BenchOptions } from '../harness/run/options.ts'
import { CLAIM_SETS } from '../servers/config.ts'
import { algorithmsFor, measuredLoad, metricsRepeat, profileFor, summarizeMetrics } from './common.ts'
import type { CellPlan, ChartDecl, MetricDecl, MetricNameOf, Scenario, ScenarioContext } from '../harness/run/scenario.ts'

/** Users whose credentials are counted (byte counts are exact: fewer users only narrow the userId lengths averaged over). */
const usersFor = (quick: boolean) => (quick ? 30 : 100)
const REQUESTS_PER_USER = 100
const RATE_RPS = 10_000
const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1)
/** How an HTTP/2 credential was sent: left to HPACK, or marked never-indexed. */
export type H2Indexing = 'Default' | 'NeverIndexed'
/** The HTTP/2 metrics' names, built in one place: the report reads them through these. */
export const h2Metric = {
  firstRequest: (claims: string, mode: H2Indexing): `h2CredentialBytesFirstRequest${string}` => `h2CredentialBytesFirstRequest${cap(claims)}${mode}`,
  laterRequest: (claims: string, mode: H2Indexing): `h2CredentialBytesPerLaterRequest${string}` => `h2CredentialBytesPerLaterRequest${cap(claims)}${mode}`,
}
/** HTTP/2: users (one connection each per mode), and requests per connection. */
const H2_USERS = 5
const H2_USERS_QUICK = 3
const H2_REQUESTS = 20
const H2_CLAIM_SETS = ['small', 'large'] as const
/** Share of a repeat's time one cell adds to the scenario, its cells side by side (measured on the 2-core machine). */
const SIDE_BY_SIDE_SHARE = 0.5

function estimateSec(o: Readonly<BenchOptions>): number {
  return 0.1 + usersFor(o.quick) * 0.0163 + 0.8 + 0.2 * (o.quick ? H2_USERS_QUICK : H2_USERS)
}

/** Bytes the server read for `n` GET /me on a new connection, with these headers, summed over the users' connections. */
async function h2Bytes(env: CellEnv, url: string, headersOf: (k: number) => Record<string, string>, users: number, n: number, neverIndex: boolean): Promise<{ bytes: number; non2xx: number }> {
  const inst = env.instances[0]!
  let bytes = 0
  let non2xx = 0
  for (let k = 0; k < users; k++) {
    const before = (await inst.stats()).bytesReadTotal
    const session = await h2Connect(url)
    try {
      for (let j = 0; j < n; j++) {
        const r = await h2Request(session, 'GET', '/me', headersOf(k), { neverIndex })
        if (r.status < 200 || r.status >= 300) non2xx++
      }
      bytes += (await inst.stats()).bytesReadTotal - before
    } finally {
      await h2Close(session)
    }
  }
  return { bytes, non2xx }
}

/** Credential bytes over HTTP/2 on the first request of a connection and on each later one, per claim set and HPACK mode. */
async function http2CredentialBytes(ctx: ScenarioContext, env: CellEnv, users: number): Promise<Record<string, number | null>> {
  const h2 = await ctx.orchestrator.startEnv({ ...env.spec, serverArgs: [...(env.spec.serverArgs ?? []), '--http2'] })
  try {
    const url = h2.urls[0]!
    const metrics: Record<string, number | null> = {}
    const anon = { 1: await h2Bytes(h2, url, () => ({}), users, 1, false), [H2_REQUESTS]: await h2Bytes(h2, url, () => ({}), users, H2_REQUESTS, false) }
    let non2xx = 0
    for (const claims of H2_CLAIM_SETS) {
      const creds: Credential[] = []
      for (let i = 1; i <= users; i++) creds.push(await h2Login(url, i, { claims }))
      for (const [mode, neverIndex] of [['Default', false], ['NeverIndexed', true]] as const) {
        const first = await h2Bytes(h2, url, (k) => creds[k]!.headers, users, 1, neverIndex)
        const many = await h2Bytes(h2, url, (k) => creds[k]!.headers, users, H2_REQUESTS, neverIndex)
        non2xx += first.non2xx + many.non2xx
        const firstBytes = (first.bytes - anon[1].bytes) / users
        const manyBytes = (many.bytes - anon[H2_REQUESTS].bytes) / users
        metrics[h2Metric.firstRequest(claims, mode)] = firstBytes
        metrics[h2Metric.laterRequest(claims, mode)] = (manyBytes - firstBytes) / (H2_REQUESTS - 1)
      }
    }
    metrics.h2Non2xxCount = non2xx // the anonymous requests are refused (401) by design: not counted
    return metrics
  } finally {
    await h2.stop()
  }
}

/** What this scenario reports (units and directions: see MetricDecl). */
export const METRICS = [
  { name: 'credentialBytesPerRequest*', label: 'credential', unit: 'B/req', meaning: 'bytes the credential adds to every request (GET /me with it − without it), at the server socket', better: 'lower', headline: true },
  { name: 'meRequestBytes*', label: '/me request', unit: 'B', meaning: 'bytes of one authenticated GET /me', better: 'lower' },
  { name: 'loginResponseBytes*', label: 'login response', unit: 'B', meaning: 'bytes of the login answer that hands the credential out', better: 'lower' },
  { name: 'credentialBytesPer100Requests*', label: 'credential per 100 requests', unit: 'B', meaning: 'what one user sends for its credential over 100 requests', better: 'lower' },
  { name: 'credentialMegabytesPerSecAt10kRps*', label: 'credential at 10k req/s', unit: 'MB/s', meaning: 'credential bandwidth at 10 000 requests/s', better: 'lower' },
  { name: 'non2xxCount*', label: 'non-2xx', unit: 'count', meaning: 'failed requests while measuring (should be 0)', better: 'lower' },
  { name: 'h2CredentialBytesFirstRequest*', label: 'HTTP/2: credential, first request', unit: 'B/req', meaning: 'HTTP/2 (h2c): bytes the credential adds to the first GET /me on a connection, at the server socket; suffix: claim set and HPACK mode ' +
      '(Default: the encoder\'s choice — nghttp2 indexes a cookie of ≥ 20 bytes and never indexes authorization; NeverIndexed: the credential headers marked sensitive)', better: 'lower' },
  { name: 'h2CredentialBytesPerLaterRequest*', label: 'HTTP/2: credential, each later request', unit: 'B/req', meaning: 'HTTP/2 (h2c): bytes the credential adds to each later GET /me on the same connection (requests 2…20): what HPACK leaves of it once its dynamic table knows it, or all of it when it may not index it', better: 'lower', headline: true },
  { name: 'h2Non2xxCount', label: 'HTTP/2 non-2xx', unit: 'count', meaning: 'failed HTTP/2 requests while measuring (should be 0)', better: 'lower' },
  { name: 'anonymousRequestBytes', label: 'anonymous /me', unit: 'B', meaning: 'bytes of GET /me with no credential (the reference)', better: 'neither' },
  { name: 'meResponseBytes', label: '/me response', unit: 'B', meaning: 'bytes of the /me answer', better: 'lower' },
] as const satisfies readonly MetricDecl[]

/** The report's charts of this scenario. */
const CHARTS: ReadonlyArray<ChartDecl<MetricNameOf<typeof METRICS>>> = [
  { title: 'Credential bytes per request, by claim set', yTitle: 'credential bytes per request (B/req)', pattern: 'credentialBytesPerRequest*', groupOfSuffix: (set) => `${set.toLowerCase()} claims` },
]

/**
 * request-size — bytes on the wire, counted at the server's sockets: the credential a client sends
 * with every request, and what login hands out, per strategy, claim set (small: sub and role;
 * typical: about 8 claims; large: plus 50 permissions) and JWT algorithm.
 * The credential's share of a request = bytes of `GET /me` with it − bytes of `GET /me` without it.
 */
export const requestSize: Scenario = {
  name: 'request-size',
  description: 'bytes per request and per response for each strategy, claim set (small, typical, large) and JWT algorithm',
  claims: ['JWT tokens are "larger" and make requests larger', 'sessions send a "small" id'],
  metrics: METRICS,
  targetMode: 'needs-stats',
  charts: CHARTS,
  repeats: () => 1, // byte counts are exact, not noisy: one repeat measures them

  plan(options) {
    const cells: CellPlan[] = []
    for (const strategy of options.strategies) {
      const profile = profileFor(strategy, options)
      for (const alg of algorithmsFor(strategy, options)) {
        cells.push({ id: `request-size/${strategy}/${profile}/${alg}`, scenario: 'request-size', claims: this.claims, env: { strategy, profile, alg, instances: 1, balancer: 'none' } })
      }
    }
    return cells
  },

  // bytes, not time: what one cell's server reads at its socket is not moved by another cell's load,
  // so the cells run side by side (each still starts its processes under the lock)
  sideBySide: true,
  // measured on the 2-core machine (quick ≈ 0.6 s, default ≈ 1.8 s): seven counted windows and three logins per user
  // and for HTTP/2 a server's start and about 0.2 s per user
  estimateRepeatSec: estimateSec,
  estimateSideBySide: (o) => ({ measureSec: SIDE_BY_SIDE_SHARE * estimateSec(o), waitSec: (1 - SIDE_BY_SIDE_SHARE) * estimateSec(o) }),

  async runRepeat(ctx, env, _cell, index) {
    const startedAt = new Date().toISOString()
    const users = usersFor(ctx.options.quick)
    const url = env.urls[0]!
    const once = (requests: ConnectionPlan['requests']): ConnectionPlan[] => [{ url, requests }]
    const bare = await measuredLoad(env, '/me', once([{ method: 'GET', path: '/me', headers: {} }]), { roundsPerConnection: users }, ctx.signal)
    const metrics: Record<string, number | null> = { anonymousRequestBytes: bare.requestBytesPerRequest }
    const windows = [bare]
    for (const claims of CLAIM_SETS) {
      ctx.status(`${claims} claims`)
      const bodies = Array.from({ length: users }, (_, i) => JSON.stringify({ username: `user${i + 1}`, password: `pw-user${i + 1}`, claims }))
      const login = await measuredLoad(env, '/login', once(bodies.map((body) => ({ method: 'POST', path: '/login', headers: { 'content-type': 'application/json' }, body }))), { roundsPerConnection: 1 }, ctx.signal)
      const creds: Credential[] = await Promise.all(Array.from({ length: users }, (_, i) => loginUser(url, i + 1, { claims })))
      const me = await measuredLoad(env, '/me', once(creds.map((c) => ({ method: 'GET', path: '/me', headers: c.headers }))), { roundsPerConnection: 1 }, ctx.signal)
      windows.push(login, me)
      const credentialBytes = me.requestBytesPerRequest! - bare.requestBytesPerRequest!
      const C = cap(claims)
      metrics[`meRequestBytes${C}`] = me.requestBytesPerRequest
      metrics[`credentialBytesPerRequest${C}`] = credentialBytes
      metrics[`loginResponseBytes${C}`] = login.responseBytesPerRequest
      metrics[`credentialBytesPer100Requests${C}`] = credentialBytes * REQUESTS_PER_USER
      metrics[`credentialMegabytesPerSecAt10kRps${C}`] = (credentialBytes * RATE_RPS) / 1e6
      metrics[`non2xxCount${C}`] = me.non2xx + login.non2xx
    }
    metrics.meResponseBytes = windows.at(-1)!.responseBytesPerRequest

    // the same credential over HTTP/2 (h2c): a server of the same strategy speaking HTTP/2, one
    // connection per user, the credential left to HPACK or marked never-indexed
    const targetMode = ctx.options.targets.length > 0
    ctx.status('HTTP/2')
    if (!targetMode) Object.assign(metrics, await http2CredentialBytes(ctx, env, ctx.options.quick ? H2_USERS_QUICK : H2_USERS))
    return metricsRepeat(index, startedAt, metrics, windows, [
      ...(targetMode ? ['target mode: HTTP/2 not measured (it needs a second server of the strategy, started with --http2)'] : []),
      `bytes counted at the server's socket over ${users} users; "per 100 requests" is what one user sends for ${REQUESTS_PER_USER} requests; "at 10k rps" is ${RATE_RPS} requests/s of that credential`,
      `HTTP/2: a second server of this strategy with --http2 (cleartext, prior knowledge); node:http2 (nghttp2) as the client, a new connection per user and mode, ${H2_REQUESTS} GET /me each; ` +
        'credential bytes = bytes read by the server with the credential − without it, same requests; "Default" leaves the credential to the encoder ' +
        '(nghttp2 never indexes authorization, RFC 7541 §7.1.3, and indexes cookies of ≥ 20 bytes), "NeverIndexed" marks cookie and authorization sensitive',
    ])
  },

  summarize: summarizeMetrics,
}
