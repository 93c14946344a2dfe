/**
 * Several autocannon processes driving one window (`--generator-processes n`): connections dealt in
 * turn, outcomes merged exactly (counts summed, percentiles of the union of their histograms), no
 * process left behind; and a machine without the cores for them says so before anything runs.
 */
import { spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import * as hdr from 'hdr-histogram-js'
import { describe, expect, it } from 'vitest'
import { runLoad, type ConnectionPlan } from '../harness/load/load.ts'
import { dealPlans, mergeOutcomes, ProcessPoolGenerator } from '../harness/load/process-pool.ts'
import { PlacementError, planPlacement } from '../harness/processes/placement.ts'
import { startServer } from './helpers.ts'

const plansFor = (url: string, n: number): ConnectionPlan[] => Array.from({ length: n }, () => ({ url, requests: [{ method: 'GET', path: '/health', headers: {} }] }))

describe('generator processes', () => {
  it('deal a window\'s connections in turn', () => {
    const plans = plansFor('http://x', 5).map((p, k) => ({ ...p, url: `http://x/${k}` }))
    expect(dealPlans(plans, 2).map((part) => part.map((p) => p.url))).toEqual([['http://x/0', 'http://x/2', 'http://x/4'], ['http://x/1', 'http://x/3']])
  })

  it('merge outcomes exactly: counts summed, percentiles of the union of histograms, the span from first start to last end', async () => {
    const s = await startServer('jwt', 'tuned')
    const [a, b] = [await runLoad({ connections: plansFor(s.url, 2), durationSec: 0.2 }), await runLoad({ connections: plansFor(s.url, 3), durationSec: 0.2 })]
    const m = mergeOutcomes([a, b])
    expect(m.responses).toBe(a.responses + b.responses)
    expect(m.statusCodes['200']).toBe(a.statusCodes['200']! + b.statusCodes['200']!)
    const union = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 })
    for (const o of [a, b]) union.add(hdr.decodeFromCompressedBase64(o.latencyHistogram!))
    expect(m.latencyMs.p99).toBe(union.getValueAtPercentile(99) / 1000)
    expect(m.generatorThreads).toBe(2)
    expect(m.durationSec).toBeCloseTo((b.startedAtEpochMs - a.startedAtEpochMs) / 1000 + b.durationSec, 6)
  })

  it('drive one window from two processes and leave none behind', async () => {
    const s = await startServer('jwt', 'tuned')
    const pool = new ProcessPoolGenerator(2)
    try {
      const out = await pool.run(plansFor(s.url, 4), 0.3)
      expect(out.generatorThreads).toBe(2)
      expect(out.responses).toBeGreaterThan(0)
      expect(out.statusCodes['200']).toBe(out.responses)
      const again = await pool.run(plansFor(s.url, 1), 0.1) // one connection: one process
      expect(again.generatorThreads).toBe(1)
    } finally {
      pool.close()
    }
    await new Promise((r) => setTimeout(r, 500))
    expect(spawnSync('pgrep', ['-f', 'generator-worker.ts'], { encoding: 'utf8' }).stdout.trim()).toBe('')
  }, 30_000)

  it.runIf(availableParallelism() < 3)('are refused where the machine has no core for them besides the servers\'', () => {
    expect(() => planPlacement(true, 2)).toThrow(PlacementError)
    expect(() => planPlacement(true, 2)).toThrow(/needs 2 cores for the generators and one for the servers/)
  })

  it.runIf(availableParallelism() >= 3)('get cores of their own where the machine has them', () => {
    expect(planPlacement(true, 2).generatorCpus).toEqual([0, 1])
  })
})
