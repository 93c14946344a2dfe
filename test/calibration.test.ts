/**
 * `--calibrate`: a known cost planted in one strategy's GET /me, measured beside the same server
 * without it. The scenario plans nothing without the option and one cell with it (jwt where the run
 * has it); a run measures both servers in alternating blocks and records planted and recovered with
 * the loop's iterations; the server refuses a bad count; the CLI adds the scenario and refuses a bad
 * value in one line.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { MetricsRepeat } from '../harness/results/results.ts'
import { BENCH_DEFAULTS, resolveBenchOptions } from '../harness/run/options.ts'
import { calibration, PILOT_PAIRS, PLANT_SHARE } from '../scenarios/calibration.ts'
import { SCENARIO_NAMES } from '../scenarios/index.ts'
import { ConfigError, resolveServerOptions } from '../servers/config.ts'
import { runScenario } from './run-scenario.ts'

const ROOT = join(import.meta.dirname, '..')

describe('calibration (--calibrate)', () => {
  it('plans nothing without --calibrate, and one cell of jwt (or the run\'s first strategy) with it', () => {
    expect(calibration.plan(BENCH_DEFAULTS)).toEqual([])
    const withIt = resolveBenchOptions({ calibrateMicros: 5, scenarios: ['throughput'] }, SCENARIO_NAMES)
    expect(withIt.scenarios).toContain('calibration') // it runs whatever --scenarios says
    expect(calibration.plan(withIt).map((c) => c.id)).toEqual(['calibration/jwt/tuned/HS256'])
    expect(calibration.plan({ ...withIt, strategies: ['redis-session', 'memory-session'] }).map((c) => c.env.strategy)).toEqual(['redis-session'])
    expect(() => resolveBenchOptions({ calibrateMicros: 0 }, SCENARIO_NAMES)).toThrow(/--calibrate must be a number between 0.5 and 1000/)
    expect(resolveBenchOptions({ calibrateMicros: 'auto' }, SCENARIO_NAMES).scenarios).toContain('calibration')
  })

  it('sizes the plant from a pilot of the plain server, measures both servers in alternating blocks and records planted against recovered', async () => {
    const results = await runScenario('calibration', ['jwt'], { calibrateMicros: 'auto' }) // `--calibrate` alone
    const cell = results.cells.find((c) => c.scenario === 'calibration')!
    expect(cell.state).toBe('completed')
    if (cell.state !== 'completed') return
    const repeat = cell.repeats[0] as MetricsRepeat
    expect(repeat.metrics.plantedMicrosPerRequest).toBeGreaterThan(0)
    for (const m of ['recoveredMicrosPerRequest', 'healthAdjustedMicrosPerRequest', 'cpuRatioChangeRel', 'plantedRatioChangeRel', 'plainMeCpuMicrosPerRequest', 'plantedMeCpuMicrosPerRequest']) {
      expect(Number.isFinite(repeat.metrics[m]), m).toBe(true)
    }
    // both servers measured, in equal numbers of /me and /health windows, every request answered
    expect(repeat.windows.length % 4).toBe(0)
    expect(repeat.windows.every((w) => w.non2xx === 0 && w.errors === 0)).toBe(true)
    const sized = new RegExp(`^\\d+ loop iterations planted per /me \\(${PLANT_SHARE * 100} % of the plain server's ([\\d.]+) µs per /me in a pilot of ${PILOT_PAIRS} pairs\\); blocks alternate plain and planted`)
    expect(repeat.notes[0]).toMatch(sized)
    expect(Number(sized.exec(repeat.notes[0]!)![1])).toBeGreaterThan(0)
    // the share is the recovered estimate over the planted cost, so that the two columns agree
    const m = cell.summary?.kind === 'metrics' ? cell.summary.metrics : {}
    expect(m.recoveredShare!.median).toBeCloseTo(m.recoveredMicrosPerRequest!.median / m.plantedMicrosPerRequest!.median, 9)
    // two server processes: the plain one and the planted one
    expect(results.processes.filter((p) => p.role === 'server').length).toBeGreaterThanOrEqual(2)
  }, 120_000)

  it('warns when the plant falls outside the recovered CI, and when the CI holds 0 as well (the plant below the run\'s resolution)', () => {
    const est = (median: number, ci95: [number, number] | null = null) => ({ n: 96, median, ci95, ciHalfWidthRel: null, cv: null, min: median, max: median })
    const summary = (recovered: [number, number, number]) => ({
      kind: 'metrics' as const,
      metrics: { recoveredMicrosPerRequest: est(recovered[0], [recovered[1], recovered[2]]), plantedMicrosPerRequest: est(4.94), plantedRatioChangeRel: est(0.026) },
    }) as unknown as Parameters<NonNullable<typeof calibration.warnings>>[0]
    const warn = (r: [number, number, number]) => calibration.warnings!(summary(r), [])
    expect(warn([5.1, 2.0, 8.2])).toEqual([]) // inside, and 0 outside: read back
    expect(warn([12.0, 9.5, 14.5])).toEqual([expect.stringMatching(/outside its 95 % CI/)])
    // the last session's default-length run on this machine: 4.92 [−2.77, 12.60] of 4.94 µs
    expect(warn([4.92, -2.77, 12.6])).toEqual([expect.stringContaining('(2.6 % of the plain server\'s CPU per /me): the CI holds 0 too, so this run cannot tell the plant from nothing, and per-request differences within about ±7.7 µs')])
  })

  it('is a server option that refuses a negative count', () => {
    expect(resolveServerOptions({ strategy: 'jwt' }).plantMeIterations).toBe(0)
    expect(resolveServerOptions({ strategy: 'jwt', plantMeIterations: 5000 }).plantMeIterations).toBe(5000)
    expect(() => resolveServerOptions({ strategy: 'jwt', plantMeIterations: -1 })).toThrow(ConfigError)
  })

  it('is a CLI option: a bad value is one line and exit 2', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', '--calibrate', '0', '--plan'], { cwd: ROOT, encoding: 'utf8' })
    expect(r.status).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    const plan = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', '--calibrate', '--scenarios', 'throughput', '--strategies', 'jwt', '--plan'], { cwd: ROOT, encoding: 'utf8' })
    expect(plan.status, plan.stderr).toBe(0)
    expect(plan.stdout).toMatch(/calibration\/jwt\/tuned\/HS256/)
  }, 60_000)
})
