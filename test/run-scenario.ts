import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { resolveBenchOptions, type BenchOptions } from '../harness/run/options.ts'
import type { CpuPlacement, RunResults } from '../harness/results/results.ts'
import { runSuite } from '../harness/run/run.ts'
import { SCENARIOS, SCENARIO_NAMES } from '../scenarios/index.ts'
import type { StrategyName } from '../servers/config.ts'
import { validateResults } from './validate.ts'

const noPin: CpuPlacement = { method: 'none', generatorCpus: [], serverCpus: [], redisCpus: [], note: 'tests do not pin' }

/** Runs one scenario for about a second per cell, the way `npm run bench` would, and returns its valid results. */
export async function runScenario(scenario: string, strategies: StrategyName[], extra: Partial<BenchOptions> = {}): Promise<RunResults> {
  const options = resolveBenchOptions({ quick: true, scenarios: [scenario], strategies, users: 50, pin: false, ...extra }, SCENARIO_NAMES)
  const results = await runSuite(options, {
    runDir: mkdtempSync(join(tmpdir(), `authbench-${scenario}-`)),
    signal: new AbortController().signal,
    placement: noPin,
    command: ['test'],
    scenarios: SCENARIOS,
  })
  expect(validateResults(results)).toEqual([])
  for (const c of results.cells) expect(c.state, `${c.id}: ${'error' in c ? c.error : ''}`).toMatch(/completed|skipped/)
  return results
}
