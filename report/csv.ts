/**
 * results.csv — tidy (long) format: one row per cell × metric, for spreadsheets and pandas.
 * Columns: scenario, strategy, profile, alg, instances, metric, unit, median, ci_low, ci_high, n, flags.
 */
import { cellFlags, declFor, isMeasured, metricNames, metricOf, type ReportInput } from './model.ts'

export const CSV_COLUMNS = ['scenario', 'strategy', 'profile', 'alg', 'instances', 'metric', 'unit', 'median', 'ci_low', 'ci_high', 'n', 'flags'] as const

/** RFC 4180 quoting: only where a field needs it. */
function field(v: string | number | null): string {
  if (v === null) return ''
  const s = String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function renderCsv(input: ReportInput): string {
  const byName = new Map(input.scenarios.map((s) => [s.name, s]))
  const rows: string[] = [CSV_COLUMNS.join(',')]
  for (const cell of input.results.cells) {
    if (!isMeasured(cell)) continue
    const scenario = byName.get(cell.scenario)
    const flags = cellFlags(cell, scenario).join(' ')
    for (const name of metricNames(cell, scenario)) {
      const e = metricOf(cell, name)
      if (e === null) continue
      const unit = declFor(scenario, name)?.decl.unit ?? ''
      rows.push([cell.scenario, cell.strategy, cell.profile, cell.alg, cell.instances, name, unit, e.median, e.ci95?.[0] ?? null, e.ci95?.[1] ?? null, e.n, flags].map(field).join(','))
    }
  }
  return rows.join('\n') + '\n'
}
