/**
 * The scale-out sweep and the scalability verdict: a level the machine has no cores for is refused
 * with the reason; each instance of a sweep cell gets a core of its own; the verdict is judged from
 * the curve where the run has one, from one instance's per-request cost otherwise, and names its basis.
 */
import { describe, expect, it } from 'vitest'
import type { Cell, RunResults } from '../harness/results/results.ts'
import { resolveBenchOptions } from '../harness/run/options.ts'
import { scalability } from '../report/claims.ts'
import { scaleCurve } from '../report/scale-curve.ts'
import { SCENARIO_NAMES } from '../scenarios/index.ts'
import { coresMissing, throughput } from '../scenarios/throughput.ts'
import { readFixture } from './fixture.ts'

/** The fixture run plus throughput cells at more instances, whose aggregate requests/s scale by `factor(strategy, n)`. */
function withCurve(factor: (strategy: string, n: number) => number): RunResults {
  const r = readFixture('run-quick-v3.json')
  const ones = r.cells.filter((c) => c.scenario === 'throughput' && c.state === 'completed')
  for (const n of [2, 4]) {
    for (const c of ones) {
      if (c.state !== 'completed' || c.summary.kind !== 'throughput') continue
      const rps = c.summary.meRequestsPerSec!
      const scaled = { ...rps, median: rps.median * factor(c.strategy, n) }
      r.cells.push({ ...c, id: c.id.replace(/x1$/, `x${n}`), instances: n, summary: { ...c.summary, meRequestsPerSec: scaled } } as Cell)
    }
  }
  return r
}

describe('the scale-out sweep', () => {
  it('refuses an instance count the machine has no server cores for, saying why, and gives each instance a core of its own', () => {
    expect(coresMissing(2, 2)).toMatch(/2 instances need 2 server cores, one each; this machine has 1/)
    expect(coresMissing(2, 4)).toBeUndefined() // 4 cores: 2 for the servers
    expect(coresMissing(4, 4)).toMatch(/has 2/)
    const o = resolveBenchOptions({ instanceSweep: [1, 2, 64], strategies: ['jwt'], pin: false }, SCENARIO_NAMES)
    const cells = throughput.plan(o)
    expect(cells.map((c) => c.id)).toEqual(['throughput/jwt/tuned/HS256/x1', 'throughput/jwt/tuned/HS256/x2', 'throughput/jwt/tuned/HS256/x64'])
    expect(cells.every((c) => c.env.corePerInstance === true)).toBe(true)
    expect(cells.at(-1)!.skipReason).toMatch(/64 instances need 64 server cores/)
  })
})

describe('the scalability verdict', () => {
  it('without a curve, is judged from one instance\'s CPU per request and says so', () => {
    const v = scalability(readFixture('run-quick-v3.json'))
    expect(v.verdict).not.toBe('not measured')
    expect(v.condition).toMatch(/^basis: one instance's CPU per request \(no scale-out curve in this run\)/)
  })

  it('with a curve, compares scaling efficiency at the largest count and names its basis', () => {
    const sessionsScaleWorse = withCurve((s, n) => (s === 'jwt' ? 0.97 * n : s === 'redis-session' ? 0.8 * n : 0.85 * n))
    const curve = scaleCurve(sessionsScaleWorse, 'redis-session')
    expect(curve.map((p) => p.instances)).toEqual([1, 2, 4])
    expect(curve[2]!.efficiency).toBeCloseTo(0.8, 6)
    expect(curve[2]!.redisCoreShare).toBeGreaterThan(0)
    const v = scalability(sessionsScaleWorse)
    expect(v.verdict).toBe('supported')
    expect(v.condition).toMatch(/^basis: the scale-out curve — /)
    expect(v.condition).toMatch(/redis-session: efficiency 0\.8 at 4 instances, Redis at [\d.]+ % of a core/)
    expect(v.condition).toMatch(/jwt: efficiency 0\.97 at 4 instances, no shared state on the request path/)

    const alike = scalability(withCurve((s, n) => (s === 'jwt' ? 0.95 * n : 0.93 * n)))
    expect(alike.verdict).toBe('depends') // within 5 points of each other
    const jwtWorse = scalability(withCurve((s, n) => (s === 'jwt' ? 0.7 * n : 0.95 * n)))
    expect(jwtWorse.verdict).toBe('refuted')
  })
})
