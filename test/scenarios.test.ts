import { describe, expect, it } from 'vitest'
import { detectBalancer } from '../harness/processes/balancer.ts'
import { loginUser } from '../harness/load/credentials.ts'
import type { Cell, RunResults } from '../harness/results/results.ts'
import { SCENARIOS, SCENARIO_NAMES } from '../scenarios/index.ts'
import { memoryPopulation } from '../scenarios/memory.ts'
import { runScenario } from './run-scenario.ts'
import { startServer } from './helpers.ts'

const run = runScenario

/** Median of one metric of the cell whose id contains `idPart`. */
function metric(results: RunResults, idPart: string, name: string): number | null {
  const cell = results.cells.find((c) => c.id.includes(idPart)) as Extract<Cell, { state: 'completed' }> | undefined
  if (!cell || cell.summary.kind !== 'metrics') throw new Error(`no completed metrics cell ${idPart}`)
  return cell.summary.metrics[name]?.median ?? null
}

describe('every scenario declares what it measures and which claims it tests', () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', (_name, s) => {
    expect(s.description.length).toBeGreaterThan(20)
    expect(s.claims.length).toBeGreaterThan(0)
  })
  it('all eight are registered, in order, then calibration and ab (run only with --calibrate and --baseline)', () => {
    expect(SCENARIO_NAMES).toEqual(['throughput', 'request-size', 'login', 'revocation', 'memory', 'scale-out', 'failover', 'hostile', 'calibration', 'ab'])
  })
})

// A generous limit, not a timing assertion: these runs start real processes, and take several times
// longer when the machine is busy (the revocation run alone waits out its credentials' lifetimes).
describe('scenarios, run for about a second each', { timeout: 180_000 }, () => {
  it('request-size: JWTs grow with their claims and algorithm, session cookies do not', async () => {
    const r = await run('request-size', ['memory-session', 'jwt'], { algs: ['HS256', 'RS256'] })
    const jwtSmall = metric(r, 'jwt/tuned/HS256', 'credentialBytesPerRequestSmall')!
    expect(metric(r, 'jwt/tuned/HS256', 'credentialBytesPerRequestLarge')!).toBeGreaterThan(jwtSmall + 1000)
    expect(metric(r, 'jwt/tuned/RS256', 'credentialBytesPerRequestSmall')!).toBeGreaterThan(jwtSmall + 200)
    const session = metric(r, 'memory-session', 'credentialBytesPerRequestSmall')!
    expect(metric(r, 'memory-session', 'credentialBytesPerRequestLarge')).toBe(session)
    expect(session).toBeLessThan(jwtSmall)
    // HTTP/2: HPACK indexes the session cookie after a connection's first request (≈ 1 byte per later
    // request), unless it is marked never-indexed; nghttp2 never indexes a bearer token at all
    expect(metric(r, 'memory-session', 'h2CredentialBytesFirstRequestSmallDefault')!).toBeGreaterThan(50)
    expect(metric(r, 'memory-session', 'h2CredentialBytesPerLaterRequestSmallDefault')!).toBeLessThan(3)
    expect(metric(r, 'memory-session', 'h2CredentialBytesPerLaterRequestSmallNeverIndexed')!).toBeGreaterThan(50)
    expect(metric(r, 'jwt/tuned/HS256', 'h2CredentialBytesPerLaterRequestSmallDefault')!).toBeGreaterThan(100)
    expect(metric(r, 'jwt/tuned/HS256', 'h2CredentialBytesPerLaterRequestLargeDefault')!).toBeGreaterThan(1000)
    expect(metric(r, 'jwt/tuned/HS256', 'h2Non2xxCount')).toBe(0)
    // Counted by hand: a credential adds one header line to the request, `name: value\r\n`. A signed
    // session id has one length for every user; a JWT's grows with its claims' digits (user1 is the
    // shortest; user9990, an admin with a 4-digit id, the longest of any population under 10 000).
    const line = (headers: Record<string, string>) => Object.entries(headers).reduce((n, [k, v]) => n + Buffer.byteLength(`${k}: ${v}\r\n`), 0)
    const sessions = await startServer('memory-session', 'tuned')
    expect(session).toBe(line((await loginUser(sessions.url, 1)).headers))
    const jwts = await startServer('jwt', 'tuned', { userCount: 10_000 })
    expect(jwtSmall).toBeGreaterThanOrEqual(line((await loginUser(jwts.url, 1)).headers))
    expect(jwtSmall).toBeLessThanOrEqual(line((await loginUser(jwts.url, 9990)).headers))
  })

  it('login: measures CPU per login, and the Redis writes of a session login', async () => {
    const r = await run('login', ['redis-session', 'jwt'])
    for (const id of ['redis-session', 'jwt/']) {
      expect(metric(r, id, 'cpuMicrosPerLogin')!).toBeGreaterThan(0)
      expect(metric(r, id, 'loginsPerSec')!).toBeGreaterThan(0)
      expect(metric(r, id, 'non2xxCount')).toBe(0)
    }
    expect(metric(r, 'redis-session', 'redisCommandsPerLogin')!).toBeGreaterThanOrEqual(2)
    expect(metric(r, 'jwt/', 'redisCommandsPerLogin')).toBeNull()
  })

  it('revocation: plain JWT still works after logout until it expires; sessions and jwt-denylist do not', async () => {
    const r = await run('revocation', ['memory-session', 'jwt', 'jwt-denylist', 'refresh', 'secure-session'])
    expect(metric(r, 'jwt/', 'windowSameInstanceShareOfTtl')!).toBeGreaterThan(0.2)
    expect(metric(r, 'secure-session', 'windowSameInstanceShareOfTtl')!).toBeGreaterThan(0.2)
    expect(metric(r, 'refresh', 'windowSameInstanceShareOfTtl')!).toBeGreaterThan(0.2)
    expect(metric(r, 'refresh', 'refreshRefusedAfterLogout')).toBe(1)
    // refused at the first request after the logout answer, on both instances where the state is shared
    for (const id of ['memory-session', 'jwt-denylist']) expect(metric(r, id, 'probesAcceptedAfterLogout'), id).toBe(0)
    expect(metric(r, 'jwt-denylist', 'probesAcceptedAfterLogoutOtherInstance')).toBe(0)
    expect(metric(r, 'jwt/', 'probesAcceptedAfterLogout')!).toBeGreaterThan(0)
    expect(metric(r, 'memory-session', 'acceptedOnOtherInstance')).toBe(0)
    expect(metric(r, 'jwt-denylist', 'revokeAllStillAcceptedShare')).toBe(0)
    expect(metric(r, 'jwt/', 'revokeAllStillAcceptedShare')).toBe(1)
    // a logout leaves one denylist entry; it also empties (removes) the user's index: net 0
    expect(metric(r, 'jwt-denylist', 'revocationKeysLeftPerLogout')).toBe(1)
    expect(metric(r, 'jwt-denylist', 'revocationKeysAddedPerLogout')).toBe(0)
    expect(metric(r, 'jwt-denylist', 'revocationKeysLeftAfterExpiry')).toBe(0)
  })

  it('memory: a session costs server heap or Redis bytes', async () => {
    const r = await run('memory', ['memory-session', 'redis-session'])
    const n = memoryPopulation(true).high
    expect(metric(r, 'memory-session', `heapBytesPerCredentialAt${n}`)!).toBeGreaterThan(100)
    expect(metric(r, 'redis-session', `redisBytesPerCredentialAt${n}`)!).toBeGreaterThan(100)
    expect(metric(r, 'memory-session', 'loginsFailed')).toBe(0)
  })

  const lb = detectBalancer()
  const sticky = lb?.kind === 'haproxy' ? 'with it, none' : '(sticky cell SKIPPED: haproxy not installed; apt-get install -y haproxy)'
  it(`scale-out: memory-session without stickiness refuses about (N−1)/N of requests; ${sticky}; JWT none; results.json names the balancer`, async () => {
    const r = await run('scale-out', ['memory-session', 'jwt'])
    expect(metric(r, 'memory-session/tuned/HS256/x2-roundrobin', 'authFailureShare')!).toBeGreaterThan(0.3)
    expect(metric(r, 'jwt/tuned/HS256/x2-roundrobin', 'authFailureShare')).toBe(0)
    const stickyCell = r.cells.find((c) => c.id.endsWith('memory-session/tuned/HS256/x2-sticky'))
    if (lb?.kind === 'haproxy') {
      expect(stickyCell?.state).toBe('completed')
      expect(metric(r, 'memory-session/tuned/HS256/x2-sticky', 'authFailureShare')).toBe(0)
    } else {
      expect(stickyCell).toMatchObject({ state: 'skipped', reason: expect.stringMatching(/haproxy/i) }) // never a cell run without stickiness
    }
    // the run ran with one instance by default, yet its 2-instance cells went through the balancer: say so
    const expected = lb ? { kind: lb.kind, version: lb.version } : { kind: 'multi-url', version: null }
    expect(r.balancer).toEqual(expected)
    for (const c of r.cells.filter((x) => x.state === 'completed')) expect(c.balancer, c.id).toEqual(expected)
  })

  it('failover: killing an instance logs out memory-session users only; a Redis restart shows what survives', async () => {
    const r = await run('failover', ['memory-session', 'redis-session', 'jwt', 'jwt-denylist'])
    expect(metric(r, 'memory-session', 'lostLoginShareAfterKill')!).toBeGreaterThan(0.2)
    for (const id of ['redis-session', 'jwt/', 'jwt-denylist']) expect(metric(r, id, 'lostLoginShareAfterKill')).toBe(0)
    expect(metric(r, 'redis-session', 'redisRecoverySec')).not.toBeNull()
    expect(metric(r, 'redis-session', 'loginsSurvivedRedisRestartShare')).toBe(0) // the private Redis restarts empty
    expect(metric(r, 'jwt-denylist', 'loginsSurvivedRedisRestartShare')).toBe(1)
    expect(metric(r, 'jwt-denylist', 'revokedTokenAcceptedAfterRedisRestart')).toBe(1) // the denylist was lost with it
  })

  it.skipIf(lb?.kind !== 'haproxy')(`--quick: scale-out's round-robin and sticky cells, hostile's one instance, and last failover run on one set of servers, each behind its own balancer${lb?.kind === 'haproxy' ? '' : ' (SKIPPED: haproxy not installed)'}`, async () => {
    const r = await run('scale-out', ['memory-session'], { scenarios: ['scale-out', 'failover', 'hostile'] })
    expect(r.cells.map((c) => c.state)).toEqual(['completed', 'completed', 'completed', 'completed'])
    const roles = (role: string) => r.processes.filter((p) => p.role === role)
    expect(roles('server')).toHaveLength(2) // one set of two, started once
    expect(roles('balancer')).toHaveLength(3) // round robin, sticky, failover's sticky
    // failover, which kills an instance, ran last, though the registry lists hostile after it
    const startedAt = (scenario: string) => Math.min(...r.cells.filter((c) => c.scenario === scenario).flatMap((c) => ('repeats' in c ? c.repeats.map((x) => Date.parse(x.startedAt)) : [])))
    expect(startedAt('failover')).toBeGreaterThan(startedAt('hostile'))
    expect(metric(r, 'hostile/memory-session', 'crashedInstances')).toBe(0)
    // the shared servers still behaved as their cells' layouts say, and failover killed one of them last
    expect(metric(r, 'scale-out/memory-session/tuned/HS256/x2-roundrobin', 'authFailureShare')!).toBeGreaterThan(0.3)
    expect(metric(r, 'scale-out/memory-session/tuned/HS256/x2-sticky', 'authFailureShare')).toBe(0)
    expect(metric(r, 'failover/memory-session', 'lostLoginShareAfterKill')!).toBeGreaterThan(0.2)
  })

  it('hostile: every invalid credential is refused with a 4xx, no 5xx, no crash', async () => {
    const r = await run('hostile', ['memory-session', 'jwt', 'secure-session'])
    for (const id of ['memory-session', 'jwt/', 'secure-session']) {
      expect(metric(r, id, 'fiveXxCount')).toBe(0)
      expect(metric(r, id, 'hostileAcceptedCount')).toBe(0)
      expect(metric(r, id, 'crashedInstances')).toBe(0)
      expect(metric(r, id, 'cpuMicrosPerRefusal')!).toBeGreaterThan(0)
      expect(metric(r, id, 'redisKeysPer1kAnonymousRequests')).toBeNull() // no Redis: not applicable
      expect(metric(r, id, 'heapBytesPer1kAnonymousRequests')).not.toBeNull()
    }
  })

  it('hostile: @fastify/session defaults store a session per anonymous request, tuned none', async () => {
    // The run's own private redis-server, like every suite run here: the test run's shared Redis also
    // holds test/harness.test.ts's orchestrators, whose cell prefixes (c1:, c2:, …) are the same as ours.
    const r = await run('hostile', ['redis-session', 'memory-session'], { profiles: ['defaults', 'tuned'] })
    const keys = (id: string) => metric(r, id, 'redisKeysPer1kAnonymousRequests')
    expect(keys('redis-session/defaults/')!).toBeGreaterThanOrEqual(990)
    expect(keys('redis-session/defaults/')!).toBeLessThanOrEqual(1010)
    expect(keys('redis-session/tuned/')).toBe(0)
    expect(keys('memory-session/defaults/')).toBeNull()
    // ≈ 200 KB: one empty session (≈ 200 B of Map entry, id and expiry) per request; the reading's noise is ±20 KB
    expect(metric(r, 'memory-session/defaults/', 'heapBytesPer1kAnonymousRequests')!).toBeGreaterThan(100_000)
    expect(metric(r, 'memory-session/tuned/', 'heapBytesPer1kAnonymousRequests')!).toBeLessThan(100_000)
    for (const c of r.cells) expect(metric(r, c.id, 'fiveXxCount'), c.id).toBe(0)
  })
})
