/**
 * A 9th scenario is one declaration and one registry entry (docs/development.md): a throw-away
 * scenario, declared here in memory only, is planned, run by the real runner on a real server, and
 * shows up in the plan, results.json, the CSV, the Markdown and HTML reports and compare, without a
 * change to any other file. An 8th strategy is one registry entry for the harness: a throw-away one,
 * registered here in memory, is planned in every scenario, and its cells show up in the CSV, the
 * reports and the verdicts' inputs by the traits its definition declares.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { CpuPlacement } from '../harness/results/results.ts'
import { resolveBenchOptions } from '../harness/run/options.ts'
import { listCells, planSuite, renderPlan } from '../harness/run/plan.ts'
import { runSuite } from '../harness/run/run.ts'
import type { Scenario } from '../harness/run/scenario.ts'
import { compareRuns } from '../report/compare.ts'
import { renderReport } from '../report/index.ts'
import { metricsRepeat, profileFor, summarizeMetrics } from '../scenarios/common.ts'
import { SCENARIOS } from '../scenarios/index.ts'
import type { StrategyName } from '../servers/config.ts'
import { registerStrategy, STRATEGIES } from '../servers/strategies/index.ts'
import { defs, isPureJwt, read } from '../report/claim-inputs.ts'
import { verdicts } from '../report/claims.ts'
import type { Cell } from '../harness/results/results.ts'
import { readFixture } from './fixture.ts'
import { validateResults } from './validate.ts'

const noPin: CpuPlacement = { method: 'none', generatorCpus: [], serverCpus: [], redisCpus: [], note: 'tests do not pin' }

/** Counts what /health answers: enough to be a scenario, and nothing any registry knows about. */
const probe: Scenario = {
  name: 'probe-scenario',
  description: 'a throw-away scenario declared by a test',
  claims: ['none: it exists to show that a scenario needs no other file'],
  metrics: [{ name: 'probeHealthOkCount', label: 'probe: /health answered', unit: 'count', meaning: 'GET /health requests answered 200, of 3', better: 'higher', headline: true }],
  plan: (options) => options.strategies.map((strategy) => ({ id: `probe-scenario/${strategy}`, scenario: 'probe-scenario', claims: [], env: { strategy, profile: profileFor(strategy, options), alg: 'HS256', instances: 1, balancer: 'none' } })),
  async runRepeat(_ctx, env, _cell, index) {
    let ok = 0
    for (let i = 0; i < 3; i++) if ((await fetch(`${env.urls[0]}/health`)).status === 200) ok++
    return metricsRepeat(index, new Date().toISOString(), { probeHealthOkCount: ok })
  },
  summarize: summarizeMetrics,
  estimateRepeatSec: () => 0.2,
}

describe('a scenario declared in memory', () => {
  it('is planned, run, reported and compared like the others', async () => {
    const scenarios = [...SCENARIOS, probe]
    const options = resolveBenchOptions({ quick: true, scenarios: ['probe-scenario'], strategies: ['jwt'], pin: false }, scenarios.map((s) => s.name))
    const { run, skipped } = listCells(options, scenarios, null)
    expect(renderPlan(planSuite(options, scenarios, run), skipped)).toContain('probe-scenario/jwt')

    const runDir = mkdtempSync(join(tmpdir(), 'authbench-probe-'))
    onTestFinished(() => rmSync(runDir, { recursive: true, force: true }))
    const results = await runSuite(options, { runDir, signal: new AbortController().signal, placement: noPin, command: ['test'], scenarios })
    expect(validateResults(results)).toEqual([])
    expect(results.cells.map((c) => [c.id, c.state])).toEqual([['probe-scenario/jwt', 'completed']])

    const report = await renderReport({ results, scenarios })
    expect(report.csv).toMatch(/probe-scenario,jwt,.*probeHealthOkCount,count,3,/)
    expect(report.markdown).toContain('probe: /health answered')
    expect(report.html).toContain('probe: /health answered')
    const comparison = compareRuns(results, results, scenarios)
    expect(comparison.changes.map((c) => `${c.cellId} ${c.metric}`)).toContain('probe-scenario/jwt probeHealthOkCount')
  }, 60_000)
})

describe('a strategy registered in memory', () => {
  const name = 'probe-strategy' as StrategyName // a throw-away name no file declares
  const withProbe = () => {
    onTestFinished(registerStrategy({ ...STRATEGIES.jwt, name, description: 'a throw-away strategy registered by a test' }))
  }

  it('is planned in every scenario that takes strategies', () => {
    withProbe()
    const options = resolveBenchOptions({ quick: true, strategies: [name], pin: false }, SCENARIOS.map((s) => s.name))
    const { run } = listCells(options, SCENARIOS, null)
    const planned = new Set(run.filter((c) => c.plan.env.strategy === name).map((c) => c.scenario.name))
    // every scenario of the default suite (calibration and ab plan cells only with --calibrate and --baseline)
    expect([...planned].sort()).toEqual(SCENARIOS.filter((s) => !['calibration', 'ab'].includes(s.name)).map((s) => s.name).sort())
    expect(renderPlan(planSuite(options, SCENARIOS, run), [])).toContain(`throughput/${name}/tuned/HS256/x1`)
  })

  it('has its cells in the CSV, the reports and the verdicts\' inputs, by the traits it declares', async () => {
    withProbe()
    // its cells: the committed run's jwt cells, as if measured under the new name
    const results = readFixture('run-quick-v2.json')
    const probeCells = results.cells.filter((c) => c.strategy === 'jwt').map((c): Cell => ({ ...c, id: c.id.replace('/jwt/', `/${name}/`), strategy: name }))
    expect(probeCells.length).toBeGreaterThanOrEqual(SCENARIOS.length - 2)
    results.cells.push(...probeCells)
    const report = await renderReport({ results, scenarios: SCENARIOS })
    expect(report.csv.split('\n').filter((l) => l.includes(`,${name},`)).length).toBeGreaterThan(probeCells.length)
    expect(report.markdown).toContain(`${name} tuned`)
    expect(report.html).toContain(`${name} tuned`)
    // a pure JWT by its definition: read beside jwt wherever a claim reads pure JWTs
    expect(defs().filter(isPureJwt).map((d) => d.name)).toContain(name)
    expect(read(results, 'throughput', 'cpuRatio', defs().filter(isPureJwt)).map((r) => r.strategy)).toEqual(['jwt', name])
    expect(verdicts(results).map((v) => v.verdict)).not.toContain('not measured')
  })
})
