/**
 * The data of the report's charts, from each scenario's own declarations (`charts`, `curves`): one
 * bar per cell with its 95 % CI and the flags that concern its metric, curves against concurrency.
 * Axis titles come from the scenarios' metric declarations; this file names no scenario.
 */
import type { Cell } from '../harness/results/results.ts'
import type { ChartDecl, LevelMetric, Scenario } from '../harness/run/scenario.ts'
import type { Bar, BarChartSpec, CurveChartSpec, CurvePoint } from './chart-specs.ts'
import { cellFlags, cellLabel, flagConcerns, cellsOf, declFor, fmt, isMeasured, metricHeader, metricNames, metricOf, type ReportInput } from './model.ts'

export { barChartSpec, curveChartSpec, toSvg, type Bar, type BarChartSpec, type CurveChartSpec, type CurvePoint } from './chart-specs.ts'

const FLAG_TEXT: Record<string, string> = { 'gen-saturated': '⚠ gen. saturated', 'high-var': '⚠ high variance', partial: '⚠ partial', 'non-2xx': '⚠ non-2xx', invariant: '✗ invariant' }
/** The flags of a cell that concern `metric` (high variance is about the CPU ratio only). */
const flagsOf = (cell: Cell, scenario: Scenario, metric: string) => cellFlags(cell, scenario).filter((f) => flagConcerns(f, metric)).map((f) => FLAG_TEXT[f] ?? f).join(' ')

/** One bar per measured cell for `metric`, grouped by `groupOf` (default: one group). */
function barsFor(input: ReportInput, scenario: Scenario, metric: string, opts: { group?: (c: Cell) => string; x?: (c: Cell) => string; scale?: number; cells?: Cell[] } = {}): Bar[] {
  const k = opts.scale ?? 1
  const bars: Bar[] = []
  for (const cell of opts.cells ?? cellsOf(input.results, scenario.name)) {
    const e = metricOf(cell, metric)
    if (e === null) continue
    bars.push({
      x: opts.x?.(cell) ?? cellLabel(cell), group: opts.group?.(cell) ?? '', value: e.median * k,
      lo: e.ci95 ? e.ci95[0] * k : null, hi: e.ci95 ? e.ci95[1] * k : null, label: fmt(e.median * k), flags: flagsOf(cell, scenario, metric),
    })
  }
  return bars
}

/** Every metric whose name fits a `*` declaration, as bars grouped by the suffix. */
function barsForPattern(input: ReportInput, scenario: Scenario, pattern: string, groupName: (suffix: string) => string): Bar[] {
  const bars: Bar[] = []
  for (const cell of cellsOf(input.results, scenario.name)) {
    if (!isMeasured(cell)) continue
    for (const name of metricNames(cell, scenario)) {
      const found = declFor(scenario, name)
      if (found?.decl.name !== pattern) continue
      bars.push(...barsFor(input, scenario, name, { cells: [cell], group: () => groupName(found.suffix) }))
    }
  }
  return bars
}

/** The bars of one declared chart. */
function barsOf(input: ReportInput, scenario: Scenario, decl: ChartDecl): Bar[] {
  if ('pattern' in decl) return barsForPattern(input, scenario, decl.pattern, decl.groupOfSuffix)
  return decl.series.flatMap((s) => barsFor(input, scenario, s.metric, {
    group: decl.group ?? (s.group !== undefined ? () => s.group! : undefined),
    x: decl.x,
  }))
}

/** A red tick per cell at the median of `metric`, in the chart's first group. */
function ticksOf(input: ReportInput, scenario: Scenario, decl: ChartDecl): BarChartSpec['ticks'] {
  if (decl.tick === undefined || !('series' in decl)) return undefined
  const group = decl.series[0]?.group ?? ''
  return cellsOf(input.results, scenario.name).flatMap((c) => {
    const e = metricOf(c, decl.tick!)
    return e ? [{ x: decl.x?.(c) ?? cellLabel(c), group, y: e.median }] : []
  })
}

/** A scenario that declares no charts gets one: its first headline metric. */
function defaultCharts(scenario: Scenario): ChartDecl[] {
  const first = scenario.metrics.find((d) => d.headline && !d.name.endsWith('*'))
  return first ? [{ title: first.label, series: [{ metric: first.name }] }] : []
}

/** The bar charts a scenario declares, with the run's data (a chart of nothing is still returned: the page says so). */
export function scenarioCharts(input: ReportInput, scenario: Scenario): BarChartSpec[] {
  return (scenario.charts ?? defaultCharts(scenario)).map((decl) => {
    const first = 'pattern' in decl ? decl.pattern : decl.series[0]!.metric
    const ticks = ticksOf(input, scenario, decl)
    return {
      title: decl.title,
      yTitle: decl.yTitle ?? metricHeader(scenario, first),
      bars: barsOf(input, scenario, decl),
      ...(decl.rule ? { rule: decl.rule } : {}),
      ...(ticks ? { ticks } : {}),
    }
  })
}

/** Curves of a level metric against connections, one series per cell of the scenario that measured several levels. */
export function levelCurves(input: ReportInput, scenario: Scenario, metric: LevelMetric): CurvePoint[] {
  const points: CurvePoint[] = []
  for (const cell of cellsOf(input.results, scenario.name)) {
    if (!isMeasured(cell) || cell.summary!.kind !== 'throughput') continue
    const levels = cell.summary!.levels
    if (levels.length < 2) continue
    for (const l of levels) {
      const e = l[metric]
      if (e) points.push({ series: cellLabel(cell), x: l.connections, value: e.median, lo: e.ci95 ? e.ci95[0] : null, hi: e.ci95 ? e.ci95[1] : null })
    }
  }
  return points
}

/** The charts against concurrency a scenario declares; empty where no cell measured several levels. */
export function scenarioCurves(input: ReportInput, scenario: Scenario): CurveChartSpec[] {
  return (scenario.curves ?? []).map((c) => ({ title: c.title, xTitle: c.xTitle, yTitle: c.yTitle, points: levelCurves(input, scenario, c.metric), ...(c.rule ? { rule: c.rule } : {}) }))
}
