/**
 * `npm run history -- [results dir]` (default `results`): every run folder in it that holds a
 * results.json, in time order, grouped into series (same machine, same measuring options), each with a
 * trend chart per headline metric and its change points (report/history.ts). Writes history.html into
 * the folder and prints one line per series. Exit 2 on bad input (no such folder, no runs, a
 * results.json that cannot be read).
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { writeFileAtomic } from '../harness/results/atomic-file.ts'
import { buildHistory, HISTORY_FILE, renderHistoryHtml, type HistoryRun } from '../report/history.ts'
import { loadRun, ReportError } from '../report/index.ts'
import { wrap } from '../report/terminal.ts'
import { SCENARIOS } from '../scenarios/index.ts'

/** The run folders directly under `dir` that hold a results.json, each read through the schema migration. */
function readRuns(dir: string): { runs: HistoryRun[]; migrated: number } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ReportError(`no such folder: ${dir}`)
  const folders = readdirSync(dir).filter((d) => statSync(join(dir, d)).isDirectory() && existsSync(join(dir, d, 'results.json'))).sort()
  if (folders.length === 0) throw new ReportError(`no runs with a results.json under ${dir} (run npm run bench first)`)
  const loaded = folders.map((d) => ({ dir: d, ...loadRun(join(dir, d)) }))
  return { runs: loaded.map((l) => ({ dir: l.dir, results: l.results })), migrated: loaded.filter((l) => l.note !== null).length }
}

async function main(): Promise<number> {
  const program = new Command('authbench-history')
    .description('every run of a results folder in time order: trend charts per headline metric, change points, in history.html')
    .argument('[dir]', 'folder of run folders', 'results')
    .configureOutput({ writeErr: (s) => process.stderr.write(`authbench history: ${s.replace(/^error: /, '')}`) })
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  program.parse()
  const [dir] = program.processedArgs as [string]
  const { runs, migrated } = readRuns(dir)
  if (migrated) process.stderr.write(`${wrap(`authbench history: ${migrated} run(s) of an older schema version read through the migration (what they did not record is shown as not recorded)`, '    ')}\n`)
  const history = buildHistory(runs, SCENARIOS)
  const path = join(dir, HISTORY_FILE)
  writeFileAtomic(path, await renderHistoryHtml(history)) // never through a symlink in the folder
  for (const s of history.series) {
    const head = `series ${s.number}: ${s.runs.length} run(s) on ${s.machine}, ${s.trends.length} chart(s), ${s.changePoints.length} change point(s)`
    process.stdout.write(`${wrap(s.apart ? `${head} — ${s.apart}` : head, '    ')}\n`)
  }
  process.stdout.write(`${path}\n`)
  return 0
}

main().then((code) => process.exit(code), (err: Error) => {
  process.stderr.write(`authbench history: ${err.message}\n`)
  process.exit(err instanceof ReportError ? 2 : 1)
})
