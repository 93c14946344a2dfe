import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveBenchOptions, type BenchOptions } from '../harness/run/options.ts'
import type { Cell, CpuPlacement, RunResults, ThroughputRepeat, ThroughputSummary, WindowMeasurement, WindowPair } from '../harness/results/results.ts'
import { runSuite, warningsFor } from '../harness/run/run.ts'
import { estimate, repeatsEstimate, yuenInterval } from '../harness/measure/stats.ts'
import { wrkVersion } from '../harness/load/wrk.ts'
import { SCENARIOS, SCENARIO_NAMES } from '../scenarios/index.ts'
import { cellFlags } from '../report/model.ts'
import { chooseHeadlineLevel, CROSS_CHECK_ROUNDS, throughput, crossCheckRepeat, levelOrder, pairsPerLevel, populationUsable, REWARM_MAX_SLICES, REWARM_STEADY_SHARE, summarizeThroughput, verifyCacheRegime, warmEnough } from '../scenarios/throughput.ts'
import { hostSpeedWarning, SLOW_HOST_FACTOR, summarizeHostSpeed } from '../harness/measure/host-speed.ts'
import { hostSpeedDifference } from '../report/compare.ts'
import { validateResults } from './validate.ts'

const noPin: CpuPlacement = { method: 'none', generatorCpus: [], serverCpus: [], redisCpus: [], note: 'tests do not pin' }
const hasWrk = wrkVersion() !== null
const unlessWrk = hasWrk ? '' : ' (SKIPPED: wrk not installed; apt-get install -y wrk)'

/** One throughput run the way `npm run bench` would do it, short. */
async function run(strategies: BenchOptions['strategies'], extra: Partial<BenchOptions>): Promise<RunResults> {
  const options = resolveBenchOptions({ scenarios: ['throughput'], strategies, users: 40, pin: false, repeats: 1, durationSec: 1, windowSec: 0.25, warmupSec: 0.1, ...extra }, SCENARIO_NAMES)
  const results = await runSuite(options, {
    runDir: mkdtempSync(join(tmpdir(), 'authbench-throughput-')),
    signal: new AbortController().signal,
    placement: noPin,
    command: ['test'],
    scenarios: SCENARIOS,
  })
  expect(validateResults(results)).toEqual([])
  return results
}

function completed(cell: Cell | undefined): { summary: ThroughputSummary; repeats: ThroughputRepeat[] } {
  if (cell?.state !== 'completed' || cell.summary.kind !== 'throughput') throw new Error(`not a completed throughput cell: ${JSON.stringify(cell).slice(0, 300)}`)
  return { summary: cell.summary, repeats: cell.repeats as ThroughputRepeat[] }
}

/** A window with plausible numbers; `over` sets what a test is about. */
function win(path: string, over: Partial<WindowMeasurement> = {}): WindowMeasurement {
  return {
    path, durationSec: 0.3, loadDurationSec: 0.25, statusCodes: { 200: 100 }, non2xx: 0, errors: 0, serverRequests: 100, requestsPerSec: 400,
    connectionsPerRequest: 0, latencyMs: { p50: 1, p90: 2, p99: 3, p999: 4, max: 5, mean: 1.5 },
    serverCpuMicrosPerRequest: 100, serverCpuShare: 0.5, requestBytesPerRequest: 160, responseBytesPerRequest: 200,
    redisCommandsPerRequest: null, redisCpuMicrosPerRequest: null, generatorCpuShare: 0.5, generatorSaturated: false, latencyHistogram: null, loadStartedAtEpochMs: null, ...over,
  }
}
const pair = (cpuRatio: number, load: Partial<WindowMeasurement> = {}): WindowPair =>
  ({ me: win('/me', { serverCpuMicrosPerRequest: 20 * cpuRatio, ...load }), health: win('/health', { serverCpuMicrosPerRequest: 20, ...load }), cpuRatio })

function repeat(index: number, levels: Array<{ connections: number; pairs: WindowPair[] }>, extra: Partial<ThroughputRepeat> = {}): ThroughputRepeat {
  return {
    kind: 'throughput', index, startedAt: '2026-01-01T00:00:00.000Z', loginCount: 2000, pairs: levels.at(-1)!.pairs, generator: 'autocannon', levels,
    headlineConnections: levels.at(-1)!.connections, populationLoggedIn: true, verifyCacheRegime: null, memoryAfter: [], redisUsedMemoryBytes: null,
    bytes: { requestsPerPath: 2000, meRequestBytes: 160, meResponseBytes: 200, healthRequestBytes: 160, healthResponseBytes: 200 },
    ...extra,
  }
}

describe('the headline level', () => {
  const level = (connections: number, serverCpuShare: number | null, generatorSaturated = false) => ({ connections, serverCpuShare, generatorSaturated })

  it('is the highest level where the server is saturated and the generator is not', () => {
    const c = chooseHeadlineLevel([level(64, 0.97, true), level(1, 0.4), level(10, 0.93), level(32, 0.95)])!
    expect(c).toMatchObject({ connections: 32, basis: 'server-saturated' })
    expect(c.reason).toMatch(/^32 connections: the highest level where the server was saturated/)
    expect(c.reason).toContain('64 → 97 % (generator saturated)')
  })

  it('falls back to the highest level with an unsaturated generator, saying so, when the server never saturates', () => {
    const c = chooseHeadlineLevel([level(1, 0.3), level(10, 0.7), level(64, 0.95, true)])!
    expect(c).toMatchObject({ connections: 10, basis: 'generator-unsaturated' })
    expect(c.reason).toMatch(/no level saturated the server/)
    expect(chooseHeadlineLevel([level(1, null), level(10, null)])).toMatchObject({ connections: 10, basis: 'generator-unsaturated' })
  })

  it('takes the lowest level when the generator is saturated everywhere, and has none without levels', () => {
    expect(chooseHeadlineLevel([level(10, 0.99, true), level(1, 0.8, true)])).toMatchObject({ connections: 1, basis: 'generator-saturated' })
    expect(chooseHeadlineLevel([])).toBeNull()
  })

  it('picks the headline figures in the summary by the same rule, over all repeats', () => {
    const sat = { serverCpuShare: 0.95 }
    const r = (i: number) => repeat(i, [
      { connections: 1, pairs: [pair(3), pair(3.1), pair(2.9)].map((p) => ({ ...p, me: { ...p.me, serverCpuShare: 0.4 }, health: { ...p.health, serverCpuShare: 0.4 } })) },
      { connections: 10, pairs: [pair(2, sat), pair(2.1, sat), pair(1.9, sat)] },
      { connections: 64, pairs: [pair(1.5, { ...sat, generatorSaturated: true }), pair(1.6, { ...sat, generatorSaturated: true })] },
    ])
    const s = summarizeThroughput([r(0), r(1)])
    expect(s).toMatchObject({ headlineConnections: 10, headlineBasis: 'server-saturated', cpuRatioPerRepeat: [2, 2] })
    expect(s.cpuRatio!.median).toBe(2)
    expect(s.levels.map((l) => [l.connections, l.cpuRatio!.median, l.serverSaturated, l.generatorSaturated])).toEqual([[1, 3, false, false], [10, 2, true, false], [64, 1.55, true, true]])
    expect(s.saturatedWindowShare).toBe(0) // at the headline level
  })
})

describe('the gen-saturated flag of a throughput cell', () => {
  const cell = (headlineSaturated: boolean): Cell => {
    const gen = (on: boolean) => ({ serverCpuShare: 0.95, generatorSaturated: on })
    // 64 connections: one window in six saturated (or, with 1 connection too, every one)
    const stray = pair(2, gen(true))
    const pairs = headlineSaturated ? [pair(2, gen(true)), pair(2, gen(true))] : [{ ...stray, health: { ...stray.health, generatorSaturated: false } }, pair(2, gen(false)), pair(2, gen(false))]
    const low = pair(3, { serverCpuShare: 0.5, generatorSaturated: headlineSaturated })
    const repeats = [0, 1].map((i) => repeat(i, [{ connections: 1, pairs: [low] }, { connections: 64, pairs }]))
    return { id: 'throughput/jwt/tuned/HS256/x1', scenario: 'throughput', strategy: 'jwt', profile: 'tuned', alg: 'HS256', instances: 1, claims: [], warnings: [], state: 'completed', repeats, summary: summarizeThroughput(repeats) }
  }

  it('follows the headline rule: not raised for a stray saturated window at a level chosen because the generator had room', () => {
    const room = cell(false)
    expect(room.state === 'completed' && room.summary.kind === 'throughput' && [room.summary.headlineConnections, room.summary.saturatedWindowShare]).toEqual([64, 1 / 6])
    expect(cellFlags(room, throughput)).not.toContain('gen-saturated')
    const full = cell(true)
    expect(full.state === 'completed' && full.summary.kind === 'throughput' && full.summary.headlineBasis).toBe('generator-saturated')
    expect(cellFlags(full, throughput)).toContain('gen-saturated')
  })
})

describe('the CI of a ratio measured in pairs nested in repeats', () => {
  // three repeats that disagree (drift between minutes), each tight inside: medians 0.998, 1.098, 1.198
  const groups = [1.0, 1.1, 1.2].map((m) => Array.from({ length: 30 }, (_, i) => m + ((i * 7) % 30) / 300 - 0.05))

  it("is Student's t over the repeats' medians on a log scale, wider than the pooled CI, around the pooled median", () => {
    const nested = repeatsEstimate(groups)!
    const pooled = estimate(groups.flat())!
    expect(nested.median).toBe(pooled.median)
    expect(nested.n).toBe(90)
    // exp(mean ± t(0.975, 2) · sd / √3) of the three log medians, computed independently
    expect(nested.ci95![0]).toBeCloseTo(0.872964, 5)
    expect(nested.ci95![1]).toBeCloseTo(1.374238, 5)
    expect(nested.ci95![1] - nested.ci95![0]).toBeGreaterThan(5 * (pooled.ci95![1] - pooled.ci95![0]))
  })

  it('does not count the spread inside a repeat: repeats with the same median give a zero-width interval', () => {
    const same = [0, 1, 2].map(() => groups[1]!)
    expect(repeatsEstimate(same)!.ci95).toEqual([1.0983333333333334, 1.0983333333333334])
    // zeros (e.g. Redis commands of a strategy without Redis): a linear scale, no log of 0
    expect(repeatsEstimate([[0, 0], [0], [0, 0, 0]])).toMatchObject({ median: 0, ci95: [0, 0] })
  })

  it("trims a disturbed repeat: Yuen's interval of the 20 %-trimmed mean from five repeats on", () => {
    // [1 … 7, 100]: one value trimmed from each end, winsorised variance, t on 5 degrees of freedom (computed independently)
    const [lo, hi] = yuenInterval([7, 100, 1, 2, 3, 4, 5, 6])
    expect(lo).toBeCloseTo(1.929418, 5)
    expect(hi).toBeCloseTo(7.070582, 5)
    // four repeats: nothing to trim, Student's t (mean 2.5, sd 1.29, t(0.975, 3) = 3.182)
    const [a, b] = yuenInterval([1, 2, 3, 4])
    expect(a).toBeCloseTo(2.5 - 3.182446 * Math.sqrt(5 / 3) / 2, 5)
    expect(b).toBeCloseTo(2.5 + 3.182446 * Math.sqrt(5 / 3) / 2, 5)
    // a burst that tripled one repeat's ratio widens the CI of eight repeats by little
    const calm = [1.6, 1.62, 1.58, 1.61, 1.6, 1.63, 1.57, 1.59].map((x) => [x])
    const burst = calm.map((g, i) => (i === 2 ? [4.8] : g))
    expect(repeatsEstimate(burst)!.ciHalfWidthRel!).toBeLessThan(2 * repeatsEstimate(calm)!.ciHalfWidthRel!)
  })

  it('falls back to the pairs of a single repeat, as `estimate` does', () => {
    expect(repeatsEstimate([groups[0]!])).toEqual(estimate(groups[0]!))
    expect(repeatsEstimate([[1, 2, 3]])).toMatchObject({ n: 3, ci95: null })
  })

  it('covers the true value about 95 % of the time when repeats drift (simulated: 8 repeats of one pair)', () => {
    // seeded normal noise: 6 % between repeats, 5 % between pairs, true ratio 2
    let seed = 7
    const uniform = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) + 0.5) / 4294967296
    const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())
    let covered = 0
    const trials = 400
    for (let t = 0; t < trials; t++) {
      const reps = Array.from({ length: 8 }, () => [2 * Math.exp(0.06 * normal() + 0.05 * normal())])
      const ci = repeatsEstimate(reps)!.ci95!
      if (ci[0] <= 2 && 2 <= ci[1]) covered++
    }
    expect(covered / trials).toBeGreaterThan(0.9)
    expect(covered / trials).toBeLessThan(0.99)
  })
})

describe('throughput plan', () => {
  it('splits the measured time over the levels and alternates their order between repeats', () => {
    expect(pairsPerLevel({ durationSec: 16, windowSec: 0.5, connectionLevels: [1, 10, 64] })).toBe(5)
    expect(pairsPerLevel({ durationSec: 1, windowSec: 0.25, connectionLevels: [10] })).toBe(2)
    expect(levelOrder([10, 1, 64], 0)).toEqual([1, 10, 64])
    expect(levelOrder([10, 1, 64], 1)).toEqual([64, 10, 1])
  })

  it('cross-checks each cell once, in the last repeat it is sure to run', () => {
    const o = resolveBenchOptions({ repeats: 5 }, SCENARIO_NAMES)
    expect(crossCheckRepeat({}, o)).toBe(4)
    expect(crossCheckRepeat({ adaptiveRepeats: { min: 2, precise: () => true } }, o)).toBe(1)
    expect(crossCheckRepeat({ repeats: () => 1 }, o)).toBe(0)
  })

  it('warms a later repeat until its cost per request stops falling', () => {
    expect(warmEnough([120])).toBe(false) // one slice: nothing to compare
    expect(warmEnough([120, 80])).toBe(false) // still falling by a third
    expect(warmEnough([120, 80, 78])).toBe(true) // fell by 2.5 %: steady
    expect(warmEnough([80, 80 * REWARM_STEADY_SHARE])).toBe(true)
    expect(warmEnough([80, 80 * REWARM_STEADY_SHARE - 1])).toBe(false)
    expect(warmEnough([70, 90])).toBe(true) // rising: not falling any more
  })

  it('logs a population in again before its credentials could expire inside a repeat (refresh: 60 s access tokens)', () => {
    expect(populationUsable('refresh', 30, 10)).toBe(true)
    expect(populationUsable('refresh', 40, 10)).toBe(false)
    expect(populationUsable('jwt', 600, 10)).toBe(true) // 900 s tokens
    expect(populationUsable('memory-session', 2800, 10)).toBe(true) // 3600 s sessions
    expect(populationUsable('memory-session', 2900, 10)).toBe(false)
  })

  it('names the JWT verify-cache regime from the population against the cache size', () => {
    expect(verifyCacheRegime('jwt', 'tuned', 1000)).toBe('hit-dominated')
    expect(verifyCacheRegime('jwt-denylist', 'tuned', 1001)).toBe('miss-dominated')
    expect(verifyCacheRegime('jwt', 'floor', 200)).toBe('hit-dominated') // the floor caches verified tokens too
    expect(verifyCacheRegime('jwt', 'defaults', 200)).toBeNull()
    expect(verifyCacheRegime('redis-session', 'tuned', 200)).toBeNull()
  })

  it('flags a cross-check whose ratio differs by more than 10 %, keeping both ratios', () => {
    const mine = repeat(0, [{ connections: 10, pairs: [pair(2), pair(2), pair(2)] }])
    const check = (ratio: number) => summarizeThroughput([{ ...mine, crossCheck: { state: 'measured', generator: 'wrk', connections: 10, pairs: [pair(ratio), pair(ratio)], primaryPairs: null } }]).crossCheck
    expect(check(2.1)).toMatchObject({ state: 'measured', generator: 'wrk', primaryCpuRatio: 2, otherCpuRatio: { median: 2.1 }, disagrees: false, warning: null })
    const off = check(2.5)!
    expect(off).toMatchObject({ disagrees: true, differenceRel: 0.25 })
    expect(off.state === 'measured' && off.warning).toMatch(/wrk measured a CPU ratio of 2.50, autocannon 2.00 \(\+25 %/)
    expect(off.state === 'measured' && off.warning).toMatch(/depends on the load generator/) // both drove 400 requests/s

    // the other generator drove the server harder at the same connection count: a different load, said so
    const faster = summarizeThroughput([{ ...mine, crossCheck: { state: 'measured', generator: 'wrk', connections: 10, pairs: [pair(1.6, { requestsPerSec: 640, serverCpuShare: 0.98 }), pair(1.6, { requestsPerSec: 640, serverCpuShare: 0.98 })], primaryPairs: null } }]).crossCheck!
    expect(faster).toMatchObject({ disagrees: true, load: { primaryMeRequestsPerSec: 400, otherMeRequestsPerSec: 640, primaryServerCpuShare: 0.5, otherServerCpuShare: 0.98 } })
    expect(faster.state === 'measured' && faster.warning).toMatch(/wrk drove 1.60× the requests\/s \(server 98 % busy against 50 %\)/)

    // measured in turn with the other generator's: the own generator's interleaved pairs are compared, not the level's
    const inTurn = summarizeThroughput([{ ...mine, crossCheck: { state: 'measured', generator: 'wrk', connections: 10, pairs: [pair(2.5), pair(2.5)], primaryPairs: [pair(2.4), pair(2.4)] } }]).crossCheck!
    expect(inTurn).toMatchObject({ primaryCpuRatio: 2.4, disagrees: false })
  })
})

// A generous limit, not a timing assertion: real processes, slower on a busy machine.
describe('the host-speed probe of a run', () => {
  const speed = (syscallLoopMicros: number, cpuLoopMicros = 850) => ({ cpuLoopMicros, syscallLoopMicros })
  /** A repeat measured with the servers' core's syscall loop at `syscall` µs, its ratio `ratio` and /health cost `health` µs at 1 connection. */
  const probed = (index: number, syscall: number, ratio: number, health = 40) => repeat(index, [{ connections: 1, pairs: [pair(ratio, { serverCpuMicrosPerRequest: health })] }].map((l) => ({
    ...l, pairs: l.pairs.map((p) => ({ ...p, me: { ...p.me, serverCpuMicrosPerRequest: health * ratio } })),
  })), { hostSpeed: { serverCore: [speed(syscall), speed(syscall)], generatorCore: [speed(700), speed(710)] } })
  const cell = (id: string, repeats: ThroughputRepeat[]): Cell => ({ id, scenario: 'throughput', strategy: 'jwt', profile: 'tuned', alg: 'HS256', instances: 1, claims: [], warnings: [], state: 'completed', repeats, summary: summarizeThroughput(repeats) })

  it('marks the repeats whose syscall loop ran ≥ 1.25× its fastest as slow, and says how each level read in them', () => {
    // two cells: a fast stretch at 700 µs and a slow one at 1 000 µs (1.43×), where /health costs 70 µs and the ratio reads 10 % lower
    const a = cell('throughput/a', [probed(0, 700, 2.0), probed(1, 720, 2.0), probed(2, 1000, 1.8, 70), probed(3, 1010, 1.8, 70)])
    const b = cell('throughput/b', [probed(0, 710, 3.0), probed(1, 1000, 2.7, 70), probed(2, 700, 3.0), probed(3, 990, 2.7, 70), probed(4, 860, 3.0)])
    const h = summarizeHostSpeed([a, b])!
    expect(h.repeats).toBe(9)
    expect(h.slowFactor).toBe(SLOW_HOST_FACTOR)
    expect(h.slowRepeats).toBe(4) // 860 µs is 1.23×: not slow
    expect(h.serverCore.syscallLoop).toEqual({ fastestMicros: 700, medianMicros: 860, slowestMicros: 1010, slowReadings: 8 })
    expect(h.generatorCore.syscallLoop.fastestMicros).toBe(700)
    expect(h.shifts).toHaveLength(1)
    expect(h.shifts[0]!.cells).toBe(2)
    expect(h.shifts[0]!.ratioShiftsRel.map((x) => Number(x.toFixed(6)))).toEqual([-0.1, -0.1])
    expect(h.shifts[0]!.healthCpuShiftsRel.map((x) => Number(x.toFixed(6)))).toEqual([0.75, 0.75])
    const w = hostSpeedWarning(h)!
    expect(w).toMatch(/^the host ran slow during 4 of 9 throughput repeats: a syscall loop on the servers' core took up to 1\.44× its fastest/)
    expect(w).toContain('at 1 connection the CPU ratio read −10 % (median of 2 cells; −10 % to −10 %), CPU per /health +75 %')
  })

  it('says nothing of a host that kept its speed, and nothing at all without probes', () => {
    const steady = cell('throughput/a', [probed(0, 700, 2.0), probed(1, 760, 2.1), probed(2, 720, 1.9)])
    const h = summarizeHostSpeed([steady])!
    expect(h.slowRepeats).toBe(0)
    expect(hostSpeedWarning(h)).toBeNull()
    expect(summarizeHostSpeed([cell('throughput/old', [repeat(0, [{ connections: 1, pairs: [pair(2)] }])])])).toBeNull()
  })

  it('tells compare when two runs ran on a host of different speed, or on a slow one', () => {
    const at = (syscall: number) => summarizeHostSpeed([cell('throughput/a', [probed(0, syscall, 2), probed(1, syscall, 2)])])!
    expect(hostSpeedDifference(at(700), at(760))).toBeNull() // +9 %
    expect(hostSpeedDifference(at(700), at(900))).toMatch(/^host speed: the host-speed syscall loop on the servers' core took a median of 0\.70 ms in the baseline and 0\.90 ms in the candidate \(1\.29×\)/)
    expect(hostSpeedDifference(at(700), null)).toBeNull()
    const slow = summarizeHostSpeed([cell('throughput/a', [probed(0, 700, 2), probed(1, 1000, 2)])])!
    expect(hostSpeedDifference(at(850), slow)).toMatch(/the host ran slow \(its syscall loop ≥ 1\.25× its fastest\) under the candidate's in 1 of 2 throughput repeats/)
  })
})

describe('throughput cells on real servers', { timeout: 120_000 }, () => {
  it('measure every concurrency level, with the server\'s utilisation in each window, and cross-check with the other generator', async () => {
    const r = await run(['jwt'], { connectionLevels: [1, 8], crossCheck: true })
    const { summary, repeats } = completed(r.cells[0])
    expect(summary.levels.map((l) => l.connections)).toEqual([1, 8])
    expect(repeats[0]!.levels!.map((l) => l.connections)).toEqual([1, 8])
    for (const l of repeats[0]!.levels!) {
      for (const w of l.pairs.flatMap((p) => [p.me, p.health])) {
        expect(w.serverCpuShare).toBeGreaterThan(0)
        expect(w.serverCpuShare).toBeLessThanOrEqual(1.5)
        expect(w.loadDurationSec).toBeGreaterThan(0)
        expect(w.loadDurationSec).toBeLessThanOrEqual(w.durationSec) // the load sits inside its samples
        expect(w.requestsPerSec).toBeCloseTo(w.serverRequests / w.loadDurationSec!, 6)
      }
    }
    expect([1, 8]).toContain(summary.headlineConnections)
    expect(summary.headlineReason).toMatch(/^(1 connection|8 connections): /)
    expect(repeats[0]!.pairs).toEqual(repeats[0]!.levels!.find((l) => l.connections === repeats[0]!.headlineConnections)!.pairs)
    expect(repeats[0]!.bytes.healthRequestBytes).toBe(repeats[0]!.bytes.meRequestBytes) // the baseline sends the very same bytes
    expect(summary.verifyCacheRegime).toBe('hit-dominated') // 40 users, 1 000 cache entries
    expect(summary.cpuRatioPerRepeat).toHaveLength(1)
    expect(summary.non2xx + summary.errors).toBe(0)
    const cc = summary.crossCheck!
    if (hasWrk) {
      if (cc.state !== 'measured') throw new Error(`cross-check not measured: ${cc.reason}`)
      expect(cc.generator).toBe('wrk')
      expect(cc.primaryCpuRatio).toBeGreaterThan(0)
      expect(cc.otherCpuRatio!.median).toBeGreaterThan(0)
      expect(cc.disagrees).toBe(cc.differenceRel !== null && Math.abs(cc.differenceRel) > 0.1)
      // in turn: a pair by each generator per round
      const measured = repeats.map((x) => x.crossCheck).find((x) => x?.state === 'measured')
      expect(measured?.state === 'measured' && [measured.pairs.length, measured.primaryPairs?.length]).toEqual([CROSS_CHECK_ROUNDS, CROSS_CHECK_ROUNDS])
    } else {
      expect(cc).toMatchObject({ state: 'skipped', generator: 'wrk', reason: expect.stringMatching(/wrk not found/) })
    }
  })

  it('logs a population in once per cell: later repeats reuse it while its credentials stay valid', async () => {
    const r = await run(['memory-session'], { connectionLevels: [4], repeats: 3, durationSec: 0.5 })
    const { summary, repeats } = completed(r.cells[0])
    expect(repeats.map((x) => x.populationLoggedIn)).toEqual([true, false, false])
    expect(repeats.map((x) => x.bytes)).toEqual([0, 1, 2].map(() => repeats[0]!.bytes))
    // later repeats warm up in slices until the cost stops falling: at least two, each a measured cost, the last of them steady or the cap reached
    expect(repeats[0]!.rewarmCpuMicrosPerRequest).toBeUndefined()
    for (const x of repeats.slice(1)) {
      const slices = x.rewarmCpuMicrosPerRequest!
      expect(slices.length).toBeGreaterThanOrEqual(2)
      expect(slices.every((c) => c > 0)).toBe(true)
      expect(warmEnough(slices) || slices.length === REWARM_MAX_SLICES).toBe(true)
      expect(warmEnough(slices.slice(0, -1))).toBe(false) // it stopped at the first steady slice
    }
    expect(summary.non2xx + summary.errors).toBe(0)
    expect(summary.cpuRatioPerRepeat).toHaveLength(3)
    expect(summary.cpuRatio!.ci95).not.toBeNull() // three repeats: a t interval over their medians
    // the host-speed probe on either side of every repeat's windows, on both cores, and the run's summary of it
    for (const x of repeats) {
      for (const reading of [...x.hostSpeed!.serverCore, ...x.hostSpeed!.generatorCore]) {
        expect(reading.cpuLoopMicros).toBeGreaterThan(0)
        expect(reading.syscallLoopMicros).toBeGreaterThan(0)
      }
      expect([x.hostSpeed!.serverCore.length, x.hostSpeed!.generatorCore.length]).toEqual([2, 2])
    }
    expect(r.hostSpeed).toEqual(summarizeHostSpeed(r.cells))
    expect(r.hostSpeed!.repeats).toBe(3)
    expect(r.hostSpeed!.serverCore.syscallLoop.fastestMicros).toBe(Math.min(...repeats.flatMap((x) => x.hostSpeed!.serverCore.map((y) => y.syscallLoopMicros))))
  })

  it(`drives a cell with wrk and cross-checks it with autocannon${unlessWrk}`, { skip: !hasWrk }, async () => {
    const r = await run(['jwt'], { connectionLevels: [4], generator: 'wrk', crossCheck: true })
    const { summary, repeats } = completed(r.cells[0])
    expect(summary.generator).toBe('wrk')
    expect(repeats[0]!.generator).toBe('wrk')
    expect(summary.non2xx + summary.errors).toBe(0)
    expect(summary.crossCheck).toMatchObject({ state: 'measured', generator: 'autocannon', connections: 4 })
  })

  it('records a skipped cross-check, with the reason, when wrk is not installed', async () => {
    const before = process.env.AUTHBENCH_WRK
    process.env.AUTHBENCH_WRK = '/nonexistent/wrk'
    try {
      const r = await run(['jwt'], { connectionLevels: [4], crossCheck: true, durationSec: 0.5 })
      expect(completed(r.cells[0]).summary.crossCheck).toEqual({ state: 'skipped', generator: 'wrk', reason: expect.stringMatching(/^wrk not found \(\/nonexistent\/wrk\): install it/) })
      const failed = await run(['jwt'], { connectionLevels: [4], generator: 'wrk', durationSec: 0.5 })
      expect(failed.cells[0]).toMatchObject({ state: 'failed', error: expect.stringMatching(/^wrk not found/) })
    } finally {
      if (before === undefined) delete process.env.AUTHBENCH_WRK
      else process.env.AUTHBENCH_WRK = before
    }
  })
})

describe('the generator as a bottleneck, on runs measured on the 2-core machine', () => {
  const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/throughput-jwt-by-generator.json'), 'utf8')) as Record<'autocannon' | 'wrk', ThroughputRepeat[]>
  const throughputScenario = SCENARIOS.find((s) => s.name === 'throughput')!
  const advice = 'no level saturated the server without saturating autocannon'

  it('says when autocannon ran out of its core before the server did at every level above the first, and names the way out', () => {
    const s = summarizeThroughput(fixture.autocannon)
    expect(s.headlineBasis).not.toBe('server-saturated')
    const w = warningsFor(fixture.autocannon, throughputScenario).find((x) => x.startsWith(advice))
    expect(w).toBeDefined()
    expect(w).toContain('--generator wrk')
  })

  it('says nothing of the kind where wrk saturated the server and its headline is a saturated level', () => {
    const s = summarizeThroughput(fixture.wrk)
    expect(s.headlineBasis).toBe('server-saturated')
    expect(s.headlineConnections).toBe(64)
    expect(warningsFor(fixture.wrk, throughputScenario).some((x) => x.startsWith(advice))).toBe(false)
  })
})

describe('servers that counted other requests than were answered', () => {
  const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/throughput-jwt-by-generator.json'), 'utf8')) as Record<'autocannon' | 'wrk', ThroughputRepeat[]>
  const throughputScenario = SCENARIOS.find((s) => s.name === 'throughput')!
  const miscount = /^the servers' request count differs from the responses the load generator saw/
  const windowsOf = (repeats: ThroughputRepeat[]) => repeats.flatMap((r) => r.levels.flatMap((l) => l.pairs.flatMap((p) => [p.me, p.health])))

  it('says nothing on measured runs, where every window\'s two counts agree', () => {
    for (const repeats of [fixture.autocannon, fixture.wrk]) expect(warningsFor(repeats, throughputScenario).filter((x) => miscount.test(x))).toEqual([])
  })

  it('names the windows and the largest difference when requests beyond the answered ones (and their errors) reached the servers', () => {
    const repeats = structuredClone(fixture.autocannon)
    const windows = windowsOf(repeats)
    const w = windows[3]!
    const responses = Object.values(w.statusCodes).reduce((a, b) => a + b, 0)
    const connections = Math.round(w.connectionsPerRequest! * w.serverRequests)
    w.errors = 2
    w.serverRequests = responses + 2 + connections // its errors and a request in flight on each connection at the stop (wrk's)
    w.connectionsPerRequest = connections / w.serverRequests
    expect(warningsFor(repeats, throughputScenario).some((x) => miscount.test(x))).toBe(false)
    w.serverRequests = responses + 500 // another client's load, or a shard's warm-up, counted in the window
    w.connectionsPerRequest = connections / w.serverRequests
    const said = warningsFor(repeats, throughputScenario).find((x) => miscount.test(x))
    expect(said).toContain(`in 1 of ${windows.length} windows, by up to +500 (+${((500 / responses) * 100).toFixed(1)} %)`)
    w.serverRequests = responses - 3 // fewer counted than answered, beyond its errors
    expect(warningsFor(repeats, throughputScenario).find((x) => miscount.test(x))).toContain('by up to -3')
    expect(warningsFor(repeats, throughputScenario, true).some((x) => miscount.test(x))).toBe(false) // a shard's own run: the merge checks
  })
})
