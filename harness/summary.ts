import Table from 'cli-table3'
import type { RunResults } from './results.ts'
import type { Estimate } from './stats.ts'

const num = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const med = (e: Estimate | null | undefined, digits = 0) => (e ? num(e.median, digits) : '–')
const withCi = (e: Estimate | null | undefined, digits = 2) =>
  !e ? '–' : e.ciHalfWidthRel === null ? `${num(e.median, digits)} (n=${e.n})` : `${num(e.median, digits)} ±${num(e.ciHalfWidthRel * 100, 1)}%`
const withCv = (e: Estimate | null | undefined) => (!e ? '–' : e.cv === null ? num(e.median) : `${num(e.median)} (cv ${num(e.cv * 100)}%)`)

/** The end-of-run tables, one per scenario: reads results only, never measures. */
export function renderSummaryTable(results: RunResults): string {
  const scenarios = [...new Set(results.cells.map((c) => c.scenario))]
  return scenarios.map((name) => `${name}\n` + (name === 'throughput' ? throughputTable(results) : metricsTable(results, name))).join('\n')
}

const cellLabel = (c: RunResults['cells'][number]) =>
  `${c.strategy} ${c.profile}${c.strategy.startsWith('jwt') || c.strategy === 'refresh' ? ' ' + c.alg : ''}${c.instances > 1 ? ` ×${c.instances}` : ''}`

/** Widest a metrics table may grow before its metrics wrap into a further table (terminal columns). */
export const SUMMARY_MAX_WIDTH = 160

function metricValue(e: Estimate | null | undefined): string {
  if (!e) return '–'
  const digits = Number.isInteger(e.median) || Math.abs(e.median) >= 100 ? 0 : Math.abs(e.median) >= 1 ? 2 : 3
  return e.ciHalfWidthRel !== null && e.ciHalfWidthRel > 0 ? `${num(e.median, digits)} ±${num(e.ciHalfWidthRel * 100, 0)}%` : num(e.median, digits)
}

/** A metric name broken at its camel-case humps into lines of at most `width` characters, for a narrow column header. */
export function wrapMetricName(name: string, width = 16): string {
  const lines: string[] = []
  for (const part of name.split(/(?=[A-Z])/)) {
    if (lines.length > 0 && lines.at(-1)!.length + part.length <= width) lines[lines.length - 1] += part
    else lines.push(part)
  }
  return lines.join('\n')
}

/**
 * One row per cell and one column per metric. When the columns would be wider than
 * SUMMARY_MAX_WIDTH, they wrap into further tables that repeat the cell column, so that a metric
 * added at the end of a scenario (the state per anonymous request in `hostile`) is still readable.
 */
function metricsTable(results: RunResults, scenario: string, maxWidth = SUMMARY_MAX_WIDTH): string {
  const cells = results.cells.filter((c) => c.scenario === scenario)
  const names = [...new Set(cells.flatMap((c) => ('summary' in c && c.summary?.kind === 'metrics' ? Object.keys(c.summary.metrics) : [])))]
  const label = (c: (typeof cells)[number]) => c.id.split('/').slice(1).join(' ')
  const rows = cells.map((c) => {
    if (c.state === 'skipped' || c.state === 'failed') return { label: label(c), state: c.state, why: (c.state === 'skipped' ? c.reason : c.error).slice(0, 100), values: [] }
    const m = c.summary?.kind === 'metrics' ? c.summary.metrics : {}
    return { label: label(c), state: c.state, why: null, values: names.map((n) => metricValue(m[n])) }
  })
  const heads = names.map((n) => wrapMetricName(n))
  // width of a column: its widest line plus borders and padding
  const width = (texts: string[]) => Math.max(...texts.flatMap((t) => t.split('\n')).map((t) => t.length)) + 3
  const fixed = width(['cell', ...rows.map((r) => r.label)]) + width(['state', ...rows.map((r) => r.state)]) + 1
  const groups: number[][] = []
  let used = fixed
  heads.forEach((h, i) => {
    const w = width([h, ...rows.map((r) => r.values[i] ?? '')])
    if (groups.length === 0 || used + w > maxWidth) {
      groups.push([])
      used = fixed
    }
    groups.at(-1)!.push(i)
    used += w
  })
  if (groups.length === 0) groups.push([])
  return groups.map((group) => {
    const table = new Table({ head: ['cell', 'state', ...group.map((i) => heads[i]!)], style: { head: [], border: [] } })
    for (const r of rows) {
      table.push(r.why !== null
        ? [r.label, r.state, { colSpan: Math.max(1, group.length), content: r.why }]
        : [r.label, r.state, ...group.map((i) => r.values[i]!)])
    }
    return table.toString()
  }).join('\n')
}

function throughputTable(results: RunResults): string {
  const table = new Table({
    head: ['cell', 'state', '/me req/s', 'p99 ms', 'CPU µs/req /me', '/health', 'ratio (95% CI)', 'req B', 'resp B', 'Redis cmd/req', 'flags'],
    style: { head: [], border: [] },
  })
  for (const c of results.cells.filter((x) => x.scenario === 'throughput')) {
    const label = cellLabel(c)
    if (c.state === 'skipped' || c.state === 'failed') {
      table.push([label, c.state, { colSpan: 9, content: (c.state === 'skipped' ? c.reason : c.error).slice(0, 100) }])
      continue
    }
    const s = c.summary?.kind === 'throughput' ? c.summary : null
    const flags = [
      s && s.saturatedWindowShare > 0 ? 'GEN-SATURATED' : '',
      s?.cpuRatio?.ciHalfWidthRel != null && s.cpuRatio.ciHalfWidthRel > 0.05 ? 'HIGH-VAR' : '',
      s && (s.non2xx > 0 || s.errors > 0) ? 'NON-2XX' : '',
      c.state === 'partial' ? 'PARTIAL' : '',
    ].filter(Boolean).join(' ')
    table.push([
      label, c.state,
      withCv(s?.meRequestsPerSec), med(s?.meLatencyP99Ms, 2),
      med(s?.meCpuMicrosPerRequest, 1), med(s?.healthCpuMicrosPerRequest, 1), withCi(s?.cpuRatio),
      med(s?.meRequestBytes), med(s?.meResponseBytes),
      s?.redisCommandsPerRequest ? med(s.redisCommandsPerRequest, 2) : '–',
      flags,
    ])
  }
  return table.toString()
}
