/**
 * The paired test of A/B and --calibrate runs (harness/measure/paired-stats.ts): ABBA sets pooled
 * across repeats unless the repeats disagree, checked on simulated runs shaped like the measured ones
 * (8 repeats of 12 blocks, per-block SD ≈ 16 %, the host's speed drifting within and between repeats):
 * its false alarms stay near its level, and it finds a 6 % change about four times in five.
 */
import { describe, expect, it } from 'vitest'
import { abbaSets, abbaTest, pairedMde } from '../harness/measure/paired-stats.ts'

/** A seeded PRNG (mulberry32) and normal deviates from it (Box–Muller). */
function normals(seed: number): () => number {
  let a = seed >>> 0
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform())
}

/**
 * One simulated run's per-block log ratios: each window meets the host's speed (a random walk) and
 * noise of its own; block k runs A then B when k is even, B then A when odd; B costs `effect` more.
 */
function simulatedRun(z: () => number, effect: number, repeats = 8, blocks = 12, windowSd = 0.11, driftSd = 0.03): number[][] {
  return Array.from({ length: repeats }, () => {
    let speed = z() * 0.1 // a repeat meets the host at another speed
    const out: number[] = []
    for (let k = 0; k < blocks; k++) {
      const w = [0, 0].map(() => (speed += driftSd * z()) + windowSd * z())
      const [a, b] = k % 2 === 0 ? [w[0]!, w[1]!] : [w[1]!, w[0]!]
      out.push(b + Math.log(1 + effect) - a)
    }
    return out
  })
}

describe('the paired test (ABBA sets)', () => {
  it('averages blocks two by two, leaving an odd last one out', () => {
    expect(abbaSets([1, 2, 3, 4, 5])).toEqual([1.5, 3.5])
    expect(abbaSets([1])).toEqual([])
    expect(abbaTest([[1]])).toBeNull()
  })

  it('pools the sets of repeats that agree, and takes the repeats as units where they do not', () => {
    const z = normals(7)
    const alike = abbaTest(Array.from({ length: 4 }, () => Array.from({ length: 8 }, () => 0.1 * z())))!
    expect(alike.units).toBe('sets')
    expect(alike.sets).toBe(16)
    expect(alike.df).toBe(15)
    // each repeat sits at its own level: something moved between repeats that its sets do not see
    const apart = abbaTest([0, 0.5, -0.4, 0.3].map((level) => Array.from({ length: 8 }, () => level + 0.01 * z())))!
    expect(apart.units).toBe('repeats')
    expect(apart.df).toBe(3)
    expect(apart.ci95[1] - apart.ci95[0]).toBeGreaterThan(0.5)
  })

  it('flags about 5 % of simulated A/A runs at p < 0.05, and finds a 6 % change in most', () => {
    const z = normals(20261202)
    const runs = 1000
    let falseAlarms = 0
    let found = 0
    let mdeSum = 0
    for (let i = 0; i < runs; i++) {
      if (abbaTest(simulatedRun(z, 0))!.p < 0.05) falseAlarms++
      const t = abbaTest(simulatedRun(z, 0.06))!
      if (t.p < 0.05 / 3) found++ // the level of one discovery among three cells
      mdeSum += pairedMde(t, 0.05 / 3)
    }
    expect(falseAlarms / runs).toBeGreaterThan(0.02)
    expect(falseAlarms / runs).toBeLessThan(0.08)
    expect(found / runs).toBeGreaterThan(0.75)
    expect(mdeSum / runs).toBeLessThan(0.06)
  })
})
