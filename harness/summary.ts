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

function metricsTable(results: RunResults, scenario: string): string {
  const cells = results.cells.filter((c) => c.scenario === scenario)
  const names = [...new Set(cells.flatMap((c) => ('summary' in c && c.summary?.kind === 'metrics' ? Object.keys(c.summary.metrics) : [])))]
  const table = new Table({ head: ['cell', 'state', ...names], style: { head: [], border: [] }, wordWrap: true })
  for (const c of cells) {
    const label = c.id.split('/').slice(1).join(' ')
    if (c.state === 'skipped' || c.state === 'failed') {
      table.push([label, c.state, { colSpan: Math.max(1, names.length), content: (c.state === 'skipped' ? c.reason : c.error).slice(0, 100) }])
      continue
    }
    const m = c.summary?.kind === 'metrics' ? c.summary.metrics : {}
    table.push([label, c.state, ...names.map((n) => {
      const e = m[n]
      if (!e) return '–'
      const digits = Math.abs(e.median) >= 100 ? 0 : Math.abs(e.median) >= 1 ? 2 : 3
      return e.ciHalfWidthRel !== null && e.ciHalfWidthRel > 0 ? `${num(e.median, digits)} ±${num(e.ciHalfWidthRel * 100, 0)}%` : num(e.median, digits)
    })])
  }
  return table.toString()
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
