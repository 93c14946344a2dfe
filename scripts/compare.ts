/**
 * `npm run compare -- <baseline-run> <candidate-run> [--fail-on-regression <percent>]`:
 * per cell in both runs, the change of each headline metric and whether it is significant over
 * repeats. Writes compare.md into the candidate run folder. Exit 1 with --fail-on-regression when a
 * cell is significantly worse by more than that percentage; 2 on bad input.
 */
import { join } from 'node:path'
import Table from 'cli-table3'
import { Command, InvalidArgumentError } from 'commander'
import { writeFileAtomic } from '../harness/results/atomic-file.ts'
import { compareRuns, regressions } from '../report/compare.ts'
import { agreementLines, CHANGE_HEADER, changeRows, renderCompareMarkdown } from '../report/compare-render.ts'
import { loadRun, ReportError } from '../report/index.ts'
import { FDR_Q } from '../report/significance.ts'
import { wrap } from '../report/terminal.ts'
import { SCENARIOS } from '../scenarios/index.ts'

const percent = (v: string) => {
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a percentage ≥ 0')
  return n
}

async function main(): Promise<number> {
  const program = new Command('authbench-compare')
    .description('compare two runs: headline metrics per cell, significance over repeats')
    .argument('<baseline-run>', 'run folder of the baseline')
    .argument('<candidate-run>', 'run folder of the candidate')
    .option('--fail-on-regression <percent>', 'exit 1 when a cell is significantly worse by more than this', percent)
    .option('--json', 'print the comparison as JSON instead of a table')
    .configureOutput({ writeErr: (s) => process.stderr.write(`authbench compare: ${s.replace(/^error: /, '')}`) })
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  program.parse()
  const [baselineDir, candidateDir] = program.args as [string, string]
  const o = program.opts<{ failOnRegression?: number; json?: boolean }>()
  const [baseline, candidate] = [loadRun(baselineDir), loadRun(candidateDir)]
  for (const note of [baseline.note, candidate.note]) if (note) process.stderr.write(`${wrap(`authbench compare: ${note}`, '    ')}\n`)
  const comparison = compareRuns(baseline.results, candidate.results, SCENARIOS)
  const mdPath = join(candidateDir, 'compare.md')
  writeFileAtomic(mdPath, renderCompareMarkdown(comparison, baselineDir, candidateDir)) // never through a symlink in the run folder
  const bad = o.failOnRegression === undefined ? [] : regressions(comparison, o.failOnRegression)
  if (o.json) {
    process.stdout.write(JSON.stringify({ ...comparison, regressions: bad }, null, 2) + '\n')
  } else {
    for (const w of comparison.warnings) process.stdout.write(`${wrap(`! ${w}`, '    ')}\n`)
    const table = new Table({ head: CHANGE_HEADER, colWidths: [17, 10, 18, 10, 10, 9, 15, 9, 11], wordWrap: true, style: { head: [], border: [] } })
    for (const r of changeRows(comparison)) table.push(r)
    process.stdout.write(table.toString() + '\n')
    const sig = comparison.changes.filter((c) => c.significant).length
    process.stdout.write(`${wrap(`${comparison.changes.length} metric(s) compared over repeats, ${sig} significant after the false discovery rate (q < ${FDR_Q}); ${mdPath}`, '    ')}\n`)
    for (const line of agreementLines(comparison)) process.stdout.write(`${wrap(line, '    ')}\n`)
    if (bad.length) process.stdout.write(`${wrap(`regression beyond ${o.failOnRegression} %: ${bad.map((b) => `${b.cellId} ${b.label}`).join(', ')}`, '    ')}\n`)
  }
  return bad.length > 0 ? 1 : 0
}

main().then((code) => process.exit(code), (err: Error) => {
  process.stderr.write(`authbench compare: ${err.message}\n`)
  process.exit(err instanceof ReportError ? 2 : 1)
})
