/**
 * A/B in one run (`--baseline <git ref or folder>`): the baseline's servers built from a ref or a
 * folder with this checkout's packages, the ab scenario measuring both versions' servers in
 * alternating blocks, and `npm run compare -- <ab run>` reading its two sides as a comparison tested
 * pair by pair; bad refs and non-A/B runs refused in one line.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BaselineError, buildBaseline } from '../harness/processes/baseline.ts'
import type { MetricsRepeat } from '../harness/results/results.ts'
import { BENCH_DEFAULTS, resolveBenchOptions } from '../harness/run/options.ts'
import { abScenarios, abSides } from '../report/ab.ts'
import { compareRuns } from '../report/compare.ts'
import { ab } from '../scenarios/ab.ts'
import { SCENARIO_NAMES, SCENARIOS } from '../scenarios/index.ts'
import { pairedChange } from '../report/significance.ts'
import { fixturePath } from './fixture.ts'
import { runScenario } from './run-scenario.ts'

const ROOT = join(import.meta.dirname, '..')

describe('A/B in one run (--baseline)', () => {
  it('runs ab alone unless --scenarios names others, and plans nothing without a baseline', () => {
    expect(ab.plan(BENCH_DEFAULTS)).toEqual([])
    expect(resolveBenchOptions({ baseline: 'HEAD' }, SCENARIO_NAMES).scenarios).toEqual(['ab'])
    expect(resolveBenchOptions({ baseline: 'HEAD', scenarios: ['throughput'] }, SCENARIO_NAMES).scenarios).toEqual(['throughput', 'ab'])
    const o = resolveBenchOptions({ baseline: 'HEAD', strategies: ['jwt', 'memory-session'] }, SCENARIO_NAMES)
    expect(ab.plan(o).map((c) => c.id)).toEqual(['ab/jwt/tuned/HS256', 'ab/memory-session/tuned/HS256'])
  })

  it('builds the baseline\'s servers from a git ref or a folder, and refuses anything else in one line', () => {
    const b = buildBaseline('HEAD')
    expect(b.resolved).toMatch(/^[0-9a-f]{40}$/)
    expect(existsSync(b.bundle)).toBe(true)
    expect(b.warnings).toEqual([]) // the same package.json
    expect(existsSync(buildBaseline(ROOT).bundle)).toBe(true)
    expect(() => buildBaseline('no-such-ref-anywhere')).toThrow(BaselineError)
    expect(() => buildBaseline('no-such-ref-anywhere')).toThrow(/neither a git ref of this checkout nor a folder with servers\/main\.ts/)
  })

  it('measures both versions in alternating blocks; compare reads the run as its two sides, tested pair by pair', async () => {
    const b = buildBaseline('HEAD')
    const results = await runScenario('ab', ['jwt'], { baseline: 'HEAD', baselineBundle: b.bundle, baselineCommit: b.resolved, repeats: 3 })
    const cell = results.cells.find((c) => c.scenario === 'ab')!
    expect(cell.state).toBe('completed')
    if (cell.state !== 'completed') return
    const r = cell.repeats[0] as MetricsRepeat
    for (const m of ['cpuRatioChangeRel', 'cpuRatioBaseline', 'cpuRatioCandidate', 'meCpuMicrosBaseline', 'meCpuMicrosCandidate']) expect(Number.isFinite(r.metrics[m]), m).toBe(true)
    expect(r.windows.length % 4).toBe(0)
    expect(r.notes[0]).toMatch(/^baseline HEAD \([0-9a-f]{12}\) against this checkout; blocks alternate A B, B A/)
    // two servers: the baseline's bundle and this checkout's
    expect(results.processes.filter((p) => p.role === 'server').length).toBeGreaterThanOrEqual(2)
    const sides = abSides(results)!
    expect(sides.label).toBe(`HEAD ${b.resolved.slice(0, 7)}`)
    const c = compareRuns(sides.baseline, sides.candidate, abScenarios(SCENARIOS), { paired: sides.blocks })
    expect(c.changes.map((x) => x.metric).sort()).toEqual(['cpuRatio', 'meCpuMicrosPerRequest'])
    for (const x of c.changes) {
      expect(x.test).toBe('paired-log')
      expect(x.nBaseline).toBe(3)
      expect(x.hostWeather).toBe(false) // both sides met the same host, window by window
    }
  }, 180_000)

  it('tests blocks on their ratios as ABBA sets: a constant 10 % step is exact, noise widens the interval', () => {
    const step = Math.log(1.1)
    const exact = pairedChange([[step, step, step, step], [step, step]], 0.05)
    expect(exact.p).toBe(0)
    expect(exact.change!).toBeCloseTo(0.1, 12)
    expect(exact.ci95![0]).toBeCloseTo(0.1, 12)
    const noisy = pairedChange([[0.1, -0.05, 0.2, 0.02], [0.05, 0.12, -0.02, 0.08]], 0.05)
    expect(noisy.p!).toBeGreaterThan(0)
    expect(noisy.ci95![0]).toBeLessThan(noisy.ci95![1])
    expect(noisy.mde!).toBeGreaterThan(0)
    expect(pairedChange([[0.1]], 0.05).p).toBeNull() // one block is no set
  })

  it('refuses a bad baseline and a lone run that is not an A/B run, in one line each', () => {
    const bench = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', '--baseline', 'no-such-ref-anywhere', '--strategies', 'jwt', '--duration', '0.2'], { cwd: ROOT, encoding: 'utf8' })
    expect(bench.status).toBe(2)
    expect(bench.stderr.trim().split('\n')).toHaveLength(1)
    expect(bench.stderr).toMatch(/^authbench: --baseline no-such-ref-anywhere: neither a git ref/)
    const dir = mkdtempSync(join(tmpdir(), 'authbench-ab-'))
    copyFileSync(fixturePath('run-quick-v3.json'), join(dir, 'results.json'))
    const lone = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/compare.ts', dir], { cwd: ROOT, encoding: 'utf8' })
    expect(lone.status).toBe(2)
    expect(lone.stderr.trim().split('\n')).toHaveLength(1)
    expect(lone.stderr).toMatch(/is not an A\/B run \(npm run bench -- --baseline <ref>\): give a candidate run/)
  }, 60_000)
})
