/**
 * The reading side: a run in, files out. Every renderer is a pure function of results.json (and the
 * scenarios' metric declarations); none starts a process or times anything.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../harness/results/atomic-file.ts'
import { migrateResults, SchemaVersionError, type Migrated } from '../harness/results/migrate.ts'
import { RESULTS_SCHEMA_VERSION, type RunResults } from '../harness/results/results.ts'
import type { Scenario } from '../harness/run/scenario.ts'
import { renderCsv } from './csv.ts'
import { renderHtml } from './html.ts'
import { renderMarkdown } from './markdown.ts'
import type { ReportInput } from './model.ts'

export const REPORT_FILES = { html: 'report.html', markdown: 'report.md', csv: 'results.csv' } as const

export class ReportError extends Error {
  override name = 'ReportError'
}

/**
 * A run folder's results.json in the current shape: a file of an older schema version goes through
 * the migration (harness/results/migrate.ts) and says so; a clear error otherwise (not JSON, not a
 * run, or written by a newer authbench whose shape this one cannot know).
 */
export function loadRun(runDir: string): Migrated & { note: string | null } {
  const path = join(runDir, 'results.json')
  if (!existsSync(path)) throw new ReportError(`no results.json in ${runDir}`)
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new ReportError(`${path} is not valid JSON: ${(err as Error).message}`)
  }
  try {
    const migrated = migrateResults(raw, path)
    const note = migrated.fromVersion === RESULTS_SCHEMA_VERSION ? null : `${path} has schema version ${migrated.fromVersion}: read through the migration to version ${RESULTS_SCHEMA_VERSION} (what it did not record is shown as not recorded)`
    return { ...migrated, note }
  } catch (err) {
    if (err instanceof SchemaVersionError) throw new ReportError(err.message)
    throw err
  }
}

/** loadRun's results alone. */
export function readRun(runDir: string): RunResults {
  return loadRun(runDir).results
}

/** The newest run folder (by name: <date>-<time>-<sha>) under `out` that holds a results.json. */
export function latestRun(out: string): string {
  if (!existsSync(out)) throw new ReportError(`no runs: ${out} does not exist (run npm run bench first)`)
  const runs = readdirSync(out).filter((d) => statSync(join(out, d)).isDirectory() && existsSync(join(out, d, 'results.json'))).sort()
  if (runs.length === 0) throw new ReportError(`no runs with a results.json under ${out} (run npm run bench first)`)
  return join(out, runs.at(-1)!)
}

export interface RenderedReport { html: string; markdown: string; csv: string }

export async function renderReport(input: ReportInput): Promise<RenderedReport> {
  return { html: await renderHtml(input), markdown: renderMarkdown(input), csv: renderCsv(input) }
}

/** Writes report.html, report.md and results.csv beside results.json (each atomically); returns their paths. */
export async function writeReport(runDir: string, scenarios: readonly Scenario[], results = readRun(runDir)): Promise<Record<keyof typeof REPORT_FILES, string>> {
  const rendered = await renderReport({ results, scenarios })
  const paths = {} as Record<keyof typeof REPORT_FILES, string>
  for (const key of Object.keys(REPORT_FILES) as Array<keyof typeof REPORT_FILES>) {
    const path = join(runDir, REPORT_FILES[key])
    writeFileAtomic(path, rendered[key]) // never through a symlink a copied or shared run folder holds
    paths[key] = path
  }
  return paths
}
