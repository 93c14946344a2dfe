/**
 * compare's statistics (report/significance.ts): Benjamini–Hochberg against values worked by hand,
 * the log scale where values are positive, and the minimum detectable effect checked by simulation
 * (seeded, so the same every run): a planted change of exactly the MDE is found in about 80 % of
 * trials, and no change is "found" in about α of them.
 */
import { describe, expect, it } from 'vitest'
import { compareRuns } from '../report/compare.ts'
import { changeVerdict } from '../report/compare-render.ts'
import { benjaminiHochberg, changeP, minimumDetectableEffect, testScale, welchP } from '../report/significance.ts'
import { SCENARIOS } from '../scenarios/index.ts'
import { readFixture } from './fixture.ts'

/** mulberry32: a small seeded generator, so that the simulations are the same every run. */
function rng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const normal = (u: () => number) => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u())

describe('compare\'s statistics', () => {
  it('adjusts p-values as Benjamini and Hochberg do', () => {
    // p sorted: 0.01, 0.02, 0.03, 0.04, 0.5 (m = 5): p·m/rank = 0.05, 0.05, 0.05, 0.05, 0.5, then the running minimum from the top
    const q = benjaminiHochberg([0.04, 0.01, 0.5, 0.03, null, 0.02])
    expect(q[0]).toBeCloseTo(0.05, 12)
    expect(q[1]).toBeCloseTo(0.05, 12)
    expect(q[2]).toBeCloseTo(0.5, 12)
    expect(q[4]).toBeNull()
    expect(benjaminiHochberg([0.001, 0.9])).toEqual([0.002, 0.9])
    expect(benjaminiHochberg([0.6, 0.9])).toEqual([0.9, 0.9]) // never above the larger one's own p·m/rank
  })

  it('tests on the log scale where every value is positive, on the raw scale otherwise', () => {
    expect(testScale([1, 2], [3, 4]).test).toBe('welch-log')
    expect(testScale([0, 2], [3, 4]).test).toBe('welch')
    // a ×2 change is the same test on log values whatever the level
    expect(changeP([1, 1.1, 0.9], [2, 2.2, 1.8]).p).toBeCloseTo(changeP([100, 110, 90], [200, 220, 180]).p!, 12)
    expect(welchP([1], [2, 3])).toBeNull()
  })

  it('finds a change of exactly its MDE in about 80 % of trials, and a non-change in about α', () => {
    const u = rng(42)
    const [n, sigma, alpha, trials] = [6, 0.08, 0.05, 2000]
    const draw = (shift: number) => Array.from({ length: n }, () => Math.exp(shift + sigma * normal(u)))
    // the MDE at the true spread: the average of what each trial's own samples say
    let mdeSum = 0
    for (let t = 0; t < 200; t++) mdeSum += minimumDetectableEffect(draw(0), draw(0), alpha)!
    const mde = mdeSum / 200
    let found = 0
    let falseAlarms = 0
    for (let t = 0; t < trials; t++) {
      if (changeP(draw(0), draw(Math.log(1 + mde))).p! < alpha) found++
      if (changeP(draw(0), draw(0)).p! < alpha) falseAlarms++
    }
    expect(found / trials).toBeGreaterThan(0.7)
    expect(found / trials).toBeLessThan(0.92)
    expect(falseAlarms / trials).toBeGreaterThan(0.03)
    expect(falseAlarms / trials).toBeLessThan(0.07)
    // more repeats, smaller MDE; a stricter level, larger
    const [a, b] = [draw(0), draw(0)]
    expect(minimumDetectableEffect([...a, ...a], [...b, ...b], alpha)!).toBeLessThan(minimumDetectableEffect(a, b, alpha)!)
    expect(minimumDetectableEffect(a, b, alpha / 100)!).toBeGreaterThan(minimumDetectableEffect(a, b, alpha)!)
  })

  it('never says a bare "no change": the bound it can put on one instead', () => {
    const three = readFixture('run-throughput-5-repeats.json')
    const c = compareRuns(three, structuredClone(three), SCENARIOS)
    for (const x of c.changes) {
      expect(x.mdeRel).not.toBeNull()
      expect(changeVerdict(x)).toMatch(/^no change > ±[\d.]+ %$/)
    }
  })
})
