import { describe, expect, it } from 'vitest'
import { credentialFrom } from '../harness/load/credentials.ts'
import type { Cell, MetricsRepeat, RunResults } from '../harness/results/results.ts'
import { rotated } from '../scenarios/common.ts'
import { memoryPopulation, robustSlope } from '../scenarios/memory.ts'
import { credentialEndMs, jwtTimes } from '../scenarios/revocation.ts'
import { scaleOutLayouts } from '../scenarios/scale-out.ts'
import { runScenario } from './run-scenario.ts'

const run = runScenario

function cellOf(results: RunResults, idPart: string): Extract<Cell, { state: 'completed' }> {
  const cell = results.cells.find((c) => c.id.includes(idPart))
  if (cell?.state !== 'completed' || cell.summary.kind !== 'metrics') throw new Error(`no completed metrics cell ${idPart}`)
  return cell
}
const metric = (results: RunResults, idPart: string, name: string): number | null => {
  const s = cellOf(results, idPart).summary
  return s.kind === 'metrics' ? s.metrics[name]?.median ?? null : null
}
const repeatsOf = (results: RunResults, idPart: string) => cellOf(results, idPart).repeats as MetricsRepeat[]

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')

describe('methodology helpers', () => {
  it('a JWT\'s end is its exp in whole seconds, not the configured lifetime from login', () => {
    const token = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: '1', iat: 1_000, exp: 1_002 })}.sig`
    expect(jwtTimes(token)).toEqual({ expSec: 1_002, iatSec: 1_000 })
    const bearer = credentialFrom([], { userId: 1, accessToken: token })
    // logged in at 1 000.76 s with a "2 s" lifetime: it ends at 1 002 s, 1.24 s later
    expect(credentialEndMs(bearer, 1_000_760, 2)).toBe(1_002_000)
    const inCookie = credentialFrom([`token=${token}; Path=/; HttpOnly`], { userId: 1 })
    expect(credentialEndMs(inCookie, 1_000_760, 2)).toBe(1_002_000)
  })

  it('a credential that is no JWT ends the configured lifetime after its login', () => {
    const session = credentialFrom(['sessionId=abc.def; Path=/; HttpOnly'], { userId: 1 })
    expect(jwtTimes('abc.def')).toBeNull()
    expect(credentialEndMs(session, 1_000_760, 2)).toBe(1_002_760)
  })

  it('the memory slope shrugs off one reading thrown off by a table resize', () => {
    const points = [0, 1, 2, 3, 4].map((k) => ({ x: 2000 + k * 2000, y: 1e7 + 400 * k * 2000 }))
    points[2]!.y += 500_000
    expect(robustSlope(points)).toBeCloseTo(400, 0)
    // the end-to-end slope would have been thrown off by the same amount had it hit an end
    expect(Math.abs(robustSlope([points[0]!, { ...points[4]!, y: points[4]!.y + 500_000 }])! - 400)).toBeGreaterThan(50)
  })

  it('window order rotates with the repeat index, and comes back after a full turn', () => {
    expect(rotated(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c'])
    expect(rotated(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a'])
    expect(rotated(['a', 'b', 'c'], 3)).toEqual(['a', 'b', 'c'])
  })

  it('scale-out measures 1 and 2 instances by default, sticky only where state is local to a process', () => {
    expect(scaleOutLayouts(false, 'jwt')).toEqual([{ instances: 1, sticky: false }, { instances: 2, sticky: false }])
    expect(scaleOutLayouts(false, 'memory-session')).toEqual([{ instances: 1, sticky: false }, { instances: 2, sticky: false }, { instances: 2, sticky: true }])
    expect(scaleOutLayouts(true, 'redis-session')).toEqual([{ instances: 2, sticky: false }])
    expect(scaleOutLayouts(false, 'redis-session', true).map((l) => l.instances)).toEqual([1, 2, 4])
  })
})

// A generous limit, not a timing assertion: these runs start real processes, and take several times
// longer when the machine is busy.
describe('methodology, on real processes', { timeout: 240_000 }, () => {
  it('memory: net of the stateless control measured beside it, jwt keeps next to nothing per credential and memory-session hundreds of bytes', async () => {
    // the default populations (2 000 → 10 000): the quick ones are a smoke test, too small for this
    const r = await run('memory', ['memory-session', 'jwt'], { quick: false, metricsRepeats: 1 })
    const n = memoryPopulation(false).high
    const jwt = metric(r, 'memory/jwt/', `heapBytesPerCredentialAt${n}`)!
    const session = metric(r, 'memory/memory-session/', `heapBytesPerCredentialAt${n}`)!
    expect(session).toBeGreaterThan(200)
    expect(Math.abs(jwt)).toBeLessThan(session / 5)
    // the control was measured in each cell, and is what was subtracted
    for (const id of ['memory/jwt/', 'memory/memory-session/']) {
      const control = metric(r, id, 'controlHeapBytesPerCredentialSlope')
      expect(control, id).not.toBeNull()
      expect(metric(r, id, `heapBytesPerCredentialAt${n}`)).toBeCloseTo(metric(r, id, 'heapBytesPerCredentialSlope')! - control!, 6)
      expect(metric(r, id, 'loginsFailed'), id).toBe(0)
    }
    expect(metric(r, 'memory/jwt/', `redisBytesPerCredentialAt${n}`)).toBeNull()
  })

  it('memory: what a Redis session stores grows with its claim set', async () => {
    const r = await run('memory', ['redis-session'])
    // the claims are stored as JSON: the large set (50 permissions) costs ≈ 1 KB more than the typical one
    const small = metric(r, 'redis-session', `redisBytesPerCredentialAt${memoryPopulation(true).high}`)!
    const typical = metric(r, 'redis-session', 'redisBytesPerCredentialTypical')!
    const large = metric(r, 'redis-session', 'redisBytesPerCredentialLarge')!
    expect(typical).toBeGreaterThan(small + 50)
    expect(large).toBeGreaterThan(typical + 700)
  })

  it('revocation: the JWT window is a share of the life its exp left it; revoke-all is probed where each credential worked', async () => {
    const r = await run('revocation', ['memory-session', 'redis-session', 'jwt'])
    const ttl = metric(r, 'jwt/', 'configuredTtlSec')!
    expect(metric(r, 'jwt/', 'tokenLifetimeSec')).toBe(ttl)
    const left = metric(r, 'jwt/', 'credentialLifetimeLeftAtLogoutSec')!
    expect(left).toBeLessThanOrEqual(ttl)
    // refused once its exp has come, never before (whole-second exp: up to 1 s early by our clock),
    // and refused then (the window closed): how long after exp is timing, left to the benchmark
    expect(metric(r, 'jwt/', 'windowSameInstanceSec')).not.toBeNull()
    expect(metric(r, 'jwt/', 'windowSameInstanceSec')!).toBeGreaterThanOrEqual(left - 1)
    expect(metric(r, 'jwt/', 'probesAcceptedAfterLogout')!).toBeGreaterThan(0)
    expect(metric(r, 'jwt/', 'tokenLifetimeSec')).not.toBeNull()
    expect(metric(r, 'memory-session', 'tokenLifetimeSec')).toBeNull()
    // memory-session: every credential that worked on the revoking instance is refused there; those
    // held by the other instance were never told, and still work there
    expect(metric(r, 'memory-session', 'revokeAllStillAcceptedShare')).toBe(0)
    expect(metric(r, 'memory-session', 'revokeAllStillAcceptedOtherInstanceShare')).toBe(1)
    for (const side of ['revokeAllStillAcceptedShare', 'revokeAllStillAcceptedOtherInstanceShare']) {
      expect(metric(r, 'redis-session', side), side).toBe(0)
      expect(metric(r, 'jwt/', side), side).toBe(1)
    }
    expect(metric(r, 'redis-session', 'revocationKeysLeftAfterExpiry')).toBe(0)
  })

  it('scale-out: the Redis saturation projection comes from one warm instance, as a range around its central value, with its inputs', async () => {
    // the default settings: --quick does not warm an instance long enough to project from it
    const r = await run('scale-out', ['redis-session', 'jwt'], { quick: false, metricsRepeats: 1 })
    const id = 'scale-out/redis-session/tuned/HS256/x1'
    const [low, mid, high] = ['Low', '', 'High'].map((s) => metric(r, id, `projectedInstancesAtRedisSaturation${s}`)!)
    expect(low).toBeGreaterThan(0)
    expect(low).toBeLessThanOrEqual(mid!)
    expect(mid).toBeLessThanOrEqual(high!)
    for (const input of ['singleInstanceCpuMicrosPerRequestLowLoad', 'singleInstanceCpuMicrosPerRequestHighLoad', 'redisCpuMicrosPerCommandLowLoad', 'redisCpuMicrosPerCommandHighLoad', 'redisCommandsPerSecLowLoad', 'redisCommandsPerSecHighLoad']) {
      expect(metric(r, id, input), input).toBeGreaterThan(0)
    }
    // one GET per /me (a window's edges cut a few requests in flight)
    expect(metric(r, id, 'projectionRedisCommandsPerRequest')).toBeGreaterThan(0.9)
    // measured once per strategy: not again where two instances share the core
    expect(metric(r, 'scale-out/redis-session/tuned/HS256/x2-roundrobin', 'projectedInstancesAtRedisSaturation')).toBeNull()
    // no shared store on a JWT's request path: nothing to saturate, no inputs
    expect(metric(r, 'scale-out/jwt/tuned/HS256/x1', 'projectedInstancesAtRedisSaturation')).toBeNull()
    expect(metric(r, 'scale-out/jwt/tuned/HS256/x1', 'redisCpuMicrosPerCommandLowLoad')).toBeNull()
  })

  it('hostile and login warm up every path, then measure their windows in an order that turns with the repeat', async () => {
    const hostile = await run('hostile', ['jwt'], { metricsRepeats: 2 })
    const orders = repeatsOf(hostile, 'hostile/jwt/').map((rep) => rep.notes.find((n) => n.includes('in this order'))!)
    expect(orders[0]).toContain('in this order: mixed, refusing, accepting')
    expect(orders[1]).toContain('in this order: refusing, accepting, mixed')
    expect(metric(hostile, 'hostile/jwt/', 'refusalCostRatio')).toBeGreaterThan(0)

    const login = await run('login', ['jwt'], { metricsRepeats: 2 })
    const paths = repeatsOf(login, 'login/jwt/').map((rep) => rep.windows.map((w) => w.path))
    expect(paths[0]).toEqual(['/login', '/health', '/health', '/login'])
    expect(paths[1]).toEqual(['/health', '/login', '/login', '/health'])
    expect(metric(login, 'login/jwt/', 'non2xxCount')).toBe(0)
  })
})
