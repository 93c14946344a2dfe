import { dirname, resolve } from 'node:path'
import type { BenchOptions } from './options.ts'
import { stopLeftovers } from '../processes/pidfile.ts'
import type { RunResults } from '../results/results.ts'
import { SuiteRun, type RunHooks } from './suite-run.ts'

export { warningsFor } from './cell-warnings.ts'
export { redactUrls } from './redact.ts'
export type { RunHooks } from './suite-run.ts'

/**
 * Runs the suite: plans every scenario's cells, then repeats them interleaved (A B C A B C …).
 * After every finished repeat the whole results.json is rewritten atomically, so an interruption
 * keeps everything finished. Always tears down every process it started. First stops what earlier
 * runs in the same results folder left running when they were killed (see harness/processes/pidfile.ts).
 */
export async function runSuite(options: Readonly<BenchOptions>, hooks: RunHooks): Promise<RunResults> {
  const scenarios = hooks.scenarios.filter((s) => options.scenarios.includes(s.name))
  // only a run folder inside the results folder (as npm run bench makes it) looks at its siblings
  const leftovers = dirname(resolve(hooks.runDir)) === resolve(options.out) ? await stopLeftovers(options.out) : { stopped: [], warnings: [] }
  const run = new SuiteRun(options, hooks, scenarios)
  if (leftovers.stopped.length) {
    run.warn(`stopped ${leftovers.stopped.length} process(es) that an earlier, killed run left running: ${leftovers.stopped.map((p) => `${p.role} ${p.pid} (${p.runDir})`).join(', ')}`)
  }
  for (const w of leftovers.warnings) run.warn(w)
  return run.run()
}
