/**
 * `npm run report -- [run-dir]`: writes report.html, report.md and results.csv into a run folder,
 * from its results.json alone (default: the newest run under results/). Same input, same bytes.
 */
import { Command } from 'commander'
import { BENCH_DEFAULTS } from '../harness/run/options.ts'
import { latestRun, loadRun, ReportError, writeReport } from '../report/index.ts'
import { SCENARIOS } from '../scenarios/index.ts'

async function main(): Promise<number> {
  const program = new Command('authbench-report')
    .description('render report.html, report.md and results.csv from a run\'s results.json')
    .argument('[run-dir]', `a run folder (default: the newest under ${BENCH_DEFAULTS.out}/)`)
    .configureOutput({ writeErr: (s) => process.stderr.write(`authbench report: ${s.replace(/^error: /, '')}`) })
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  program.parse()
  const runDir = program.args[0] ?? latestRun(BENCH_DEFAULTS.out)
  const run = loadRun(runDir)
  if (run.note) process.stderr.write(`authbench report: ${run.note}\n`)
  const paths = await writeReport(runDir, SCENARIOS, run.results)
  for (const p of Object.values(paths)) process.stdout.write(`${p}\n`)
  return 0
}

main().then((code) => process.exit(code), (err: Error) => {
  process.stderr.write(`authbench report: ${err.message}\n`)
  process.exit(err instanceof ReportError ? 2 : 1)
})
