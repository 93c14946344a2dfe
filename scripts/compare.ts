/**
 * `npm run compare -- <baseline-run> <candidate-run>… [--out <dir>] [--fail-on-regression <percent>]`:
 * per cell in both runs, the change of each headline metric and whether it is significant over
 * repeats, each candidate against the baseline. Writes compare.md and compare.html into the last
 * candidate's folder (or --out). Exit 1 with --fail-on-regression when a cell is significantly worse
 * by more than that percentage; 2 on bad input.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Table from 'cli-table3'
import { Command, InvalidArgumentError } from 'commander'
import { writeFileAtomic } from '../harness/results/atomic-file.ts'
import { compareRuns, regressions, type Comparison } from '../report/compare.ts'
import { renderCompareHtml, type ComparedRun } from '../report/compare-html.ts'
import { agreementLines, CHANGE_HEADER, changeRows, renderCompareMarkdown } from '../report/compare-render.ts'
import { abScenarios, abSides } from '../report/ab.ts'
import { loadRun, ReportError } from '../report/index.ts'
import { FDR_Q } from '../report/significance.ts'
import { verdictChangeLines, verdictChanges, verdictsWithMargins } from '../report/verdict-margins.ts'
import { wrap } from '../report/terminal.ts'
import { SCENARIOS } from '../scenarios/index.ts'

const percent = (v: string) => {
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a percentage ≥ 0')
  return n
}

/** One candidate's comparison on the terminal: warnings, the change table, the counts. */
function printComparison(comparison: Comparison, heading: string | null, mdPath: string): void {
  if (heading) process.stdout.write(`\n${wrap(heading, '    ')}\n`)
  for (const w of comparison.warnings) process.stdout.write(`${wrap(`! ${w}`, '    ')}\n`)
  const table = new Table({ head: CHANGE_HEADER, colWidths: [17, 10, 18, 10, 10, 9, 15, 9, 11], wordWrap: true, style: { head: [], border: [] } })
  for (const r of changeRows(comparison)) table.push(r)
  process.stdout.write(table.toString() + '\n')
  const sig = comparison.changes.filter((c) => c.significant).length
  process.stdout.write(`${wrap(`${comparison.changes.length} metric(s) compared over repeats, ${sig} significant after the false discovery rate (q < ${FDR_Q}); ${mdPath}`, '    ')}\n`)
  for (const line of agreementLines(comparison)) process.stdout.write(`${wrap(line, '    ')}\n`)
}

/** The runs to compare and their comparisons: each candidate against the baseline, or an A/B run's two sides. */
function comparisonsOf(baselineDir: string, candidateDirs: readonly string[]): { runs: ComparedRun[]; comparisons: Comparison[]; dirs: string[] } {
  const loaded = [baselineDir, ...candidateDirs].map((d) => loadRun(d))
  for (const l of loaded) if (l.note) process.stderr.write(`${wrap(`authbench compare: ${l.note}`, '    ')}\n`)
  if (candidateDirs.length === 0) {
    const sides = abSides(loaded[0]!.results)
    if (!sides) throw new ReportError(`${baselineDir} is not an A/B run (npm run bench -- --baseline <ref>): give a candidate run to compare it with`)
    const runs = [{ label: `baseline (${sides.label})`, dir: baselineDir, results: sides.baseline }, { label: 'this checkout', dir: baselineDir, results: sides.candidate }]
    return { runs, comparisons: [compareRuns(sides.baseline, sides.candidate, abScenarios(SCENARIOS), { paired: sides.blocks })], dirs: [baselineDir, baselineDir] }
  }
  const labels = candidateDirs.length === 1 ? ['baseline', 'candidate'] : ['baseline', ...candidateDirs.map((_, i) => `candidate ${i + 1}`)]
  const dirs = [baselineDir, ...candidateDirs]
  const runs: ComparedRun[] = loaded.map((l, i) => ({ label: labels[i]!, dir: dirs[i]!, results: l.results }))
  return { runs, comparisons: runs.slice(1).map((r) => compareRuns(runs[0]!.results, r.results, SCENARIOS)), dirs }
}

async function main(): Promise<number> {
  const program = new Command('authbench-compare')
    .description('compare runs: headline metrics per cell, significance over repeats, each candidate against the baseline; one A/B run (--baseline) alone compares its two versions')
    .argument('<baseline-run>', 'run folder of the baseline (or of an A/B run, alone)')
    .argument('[candidate-runs...]', 'run folder(s) of the candidate(s), each compared against the baseline')
    .option('--out <dir>', 'folder for compare.md and compare.html (default: the last candidate\'s)')
    .option('--fail-on-regression <percent>', 'exit 1 when a cell is significantly worse by more than this', percent)
    .option('--json', 'print the comparison as JSON instead of a table')
    .configureOutput({ writeErr: (s) => process.stderr.write(`authbench compare: ${s.replace(/^error: /, '')}`) })
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  program.parse()
  const [baselineDir, candidateDirs] = program.processedArgs as [string, string[]]
  const o = program.opts<{ out?: string; failOnRegression?: number; json?: boolean }>()
  const { runs, comparisons, dirs } = comparisonsOf(baselineDir, candidateDirs)
  const margins = runs.map((r) => verdictsWithMargins(r.results))
  const verdictLines = margins.slice(1).map((vs) => verdictChangeLines(verdictChanges(margins[0]!, vs)))
  const outDir = o.out ?? dirs.at(-1)!
  mkdirSync(outDir, { recursive: true }) // --out may name a folder not made yet
  const mdPath = join(outDir, 'compare.md')
  // never through a symlink in the run folder
  writeFileAtomic(mdPath, comparisons.map((c, i) => renderCompareMarkdown(c, dirs[0]!, dirs[i + 1]!, verdictLines[i])).join('\n\n'))
  writeFileAtomic(join(outDir, 'compare.html'), await renderCompareHtml(runs, comparisons, abScenarios(SCENARIOS)))
  const bad = o.failOnRegression === undefined ? [] : comparisons.flatMap((c) => regressions(c, o.failOnRegression!))
  if (o.json) {
    const json = comparisons.map((c, i) => ({ candidate: dirs[i + 1], ...c, verdictChanges: verdictLines[i], regressions: o.failOnRegression === undefined ? [] : regressions(c, o.failOnRegression) }))
    process.stdout.write(JSON.stringify(json.length === 1 ? json[0] : json, null, 2) + '\n')
  } else {
    comparisons.forEach((c, i) => {
      printComparison(c, comparisons.length > 1 ? `${runs[i + 1]!.label}: ${dirs[i + 1]} against ${dirs[0]}` : null, mdPath)
      for (const line of verdictLines[i]!) process.stdout.write(`${wrap(line, '    ')}\n`)
    })
    if (bad.length) process.stdout.write(`${wrap(`regression beyond ${o.failOnRegression} %: ${bad.map((b) => `${b.cellId} ${b.label}`).join(', ')}`, '    ')}\n`)
  }
  return bad.length > 0 ? 1 : 0
}

main().then((code) => process.exit(code), (err: Error) => {
  process.stderr.write(`authbench compare: ${err.message}\n`)
  process.exit(err instanceof ReportError ? 2 : 1)
})
