/**
 * Charts as SVG, from Vega-Lite specs rendered by vega's server-side `toSvg` (no browser, no canvas).
 * Every bar carries its value as text (so a 0 is a visible "0"), a 95 % CI where one exists (error
 * bar), and its cell's flags next to it.
 */
import * as vega from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'

/** Legend entries per row under a chart: seven strategies in one row ran past a 520-pixel chart and the last was cut off. */
const LEGEND_COLUMNS = 4

/** One bar: a category on x, an optional group within it, a value with its CI, and flags. */
export interface Bar {
  x: string
  group: string
  value: number
  lo: number | null
  hi: number | null
  label: string
  flags: string
}

export interface BarChartSpec {
  title: string
  yTitle: string
  bars: Bar[]
  /** A horizontal reference line (e.g. 1 = the /health baseline of a ratio), with its label. */
  rule?: { y: number; label: string }
  /** Extra marks per x: a tick at this value (e.g. the configured lifetime), with a legend label. */
  ticks?: Array<{ x: string; group: string; y: number }>
  tickLabel?: string
  width?: number
}

const FONT = 'Helvetica, Arial, sans-serif'
/** Groups in reading order: claim sets small → large, sizes and instance counts ascending, the rest as they come. */
const GROUP_ORDER = ['small claims', 'typical claims', 'large claims']
function byGroupOrder(a: string, b: string): number {
  const [i, j] = [GROUP_ORDER.indexOf(a), GROUP_ORDER.indexOf(b)]
  if (i !== -1 || j !== -1) return (i === -1 ? 99 : i) - (j === -1 ? 99 : j)
  const [x, y] = [parseFloat(a.replace(/,/g, '')), parseFloat(b.replace(/,/g, ''))]
  return Number.isFinite(x) && Number.isFinite(y) && x !== y ? x - y : 0
}
const COLORS = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2', '#eeca3b', '#9d755d']

export function barChartSpec(c: BarChartSpec): TopLevelSpec {
  const groups = [...new Set(c.bars.map((b) => b.group))].sort(byGroupOrder)
  const xs = [...new Set(c.bars.map((b) => b.x))]
  const grouped = groups.length > 1
  const x = { field: 'x', type: 'nominal' as const, title: null, sort: xs, axis: { labelAngle: xs.length > 5 ? -25 : 0, labelLimit: 240, labelFontSize: 10 } }
  const xOffset = grouped ? { xOffset: { field: 'group', type: 'nominal' as const, sort: groups } } : {}
  const y = { field: 'value', type: 'quantitative' as const, title: c.yTitle }
  const layers: unknown[] = [
    { mark: { type: 'bar', tooltip: true }, encoding: { x, ...xOffset, y, color: grouped ? { field: 'group', type: 'nominal', sort: groups, title: null, scale: { range: COLORS } } : { value: COLORS[0] } } },
    { transform: [{ filter: 'datum.lo != null' }], mark: { type: 'errorbar', ticks: true, color: '#222' }, encoding: { x, ...xOffset, y: { field: 'lo', type: 'quantitative', title: c.yTitle }, y2: { field: 'hi' } } },
    { mark: { type: 'text', dy: -6, fontSize: 10, color: '#222', baseline: 'bottom' }, encoding: { x, ...xOffset, y: { field: 'top', type: 'quantitative' }, text: { field: 'label' } } },
    { transform: [{ filter: `datum.flags != '' && datum.group == ${JSON.stringify(groups[0] ?? '')}` }], mark: { type: 'text', dy: -18, fontSize: 10, color: '#c0392b', fontWeight: 'bold', baseline: 'bottom' }, encoding: { x, ...xOffset, y: { field: 'top', type: 'quantitative' }, text: { field: 'flags' } } },
  ]
  if (c.ticks?.length) {
    layers.push({ data: { values: c.ticks }, mark: { type: 'tick', color: '#e45756', thickness: 3, size: 18 }, encoding: { x, ...xOffset, y: { field: 'y', type: 'quantitative' } } })
  }
  if (c.rule) {
    layers.push({ data: { values: [c.rule] }, mark: { type: 'rule', strokeDash: [5, 3], color: '#555' }, encoding: { y: { field: 'y', type: 'quantitative' } } })
    layers.push({ data: { values: [c.rule] }, mark: { type: 'text', align: 'left', dx: 4, dy: 0, baseline: 'middle', color: '#555', fontSize: 10 }, encoding: { y: { field: 'y', type: 'quantitative' }, x: { value: 'width' }, text: { field: 'label' } } })
  }
  const top = (b: Bar) => Math.max(b.value, b.hi ?? b.value)
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: c.title, anchor: 'start', font: FONT, fontSize: 13 },
    width: c.width ?? Math.min(980, Math.max(420, xs.length * Math.max(170, groups.length * 50))),
    height: 220,
    data: { values: c.bars.map((b) => ({ ...b, top: top(b) })) },
    layer: layers,
    config: { font: FONT, view: { stroke: null }, axis: { labelFont: FONT, titleFont: FONT }, legend: { orient: 'bottom', labelFont: FONT, labelLimit: 400, columns: LEGEND_COLUMNS } },
  } as TopLevelSpec
}

/** One point of a curve: a series (a cell), an x (connections), a value with its CI; `dash` names a run where several are overlaid (the first one's lines dashed). */
export interface CurvePoint { series: string; x: number; value: number; lo: number | null; hi: number | null; dash?: string }

export interface CurveChartSpec {
  title: string
  xTitle: string
  yTitle: string
  points: CurvePoint[]
  rule?: { y: number; label: string }
}

/** Lines against a log-scaled x (concurrency), with points, CI bars and a reference rule. */
export function curveChartSpec(c: CurveChartSpec): TopLevelSpec {
  const series = [...new Set(c.points.map((p) => p.series))]
  const xs = [...new Set(c.points.map((p) => p.x))].sort((a, b) => a - b)
  const x = { field: 'x', type: 'quantitative' as const, title: c.xTitle, scale: { type: 'log' as const, nice: false, domain: [xs[0] ?? 1, xs.at(-1) ?? 1] }, axis: { values: xs, format: 'd' } }
  const color = { field: 'series', type: 'nominal' as const, title: null, sort: series, scale: { range: COLORS } }
  const runs = [...new Set(c.points.flatMap((p) => (p.dash === undefined ? [] : [p.dash])))]
  const dash = runs.length > 1 ? { strokeDash: { field: 'dash', type: 'nominal', title: null, sort: runs, legend: { symbolType: 'stroke', symbolStrokeWidth: 2, symbolStrokeColor: '#555' }, scale: { domain: runs, range: runs.map((_, i) => (i === 0 ? [5, 3] : [1, 0])) } }, detail: { field: 'dash' } } : {}
  const layers: unknown[] = [
    { mark: { type: 'line', point: { filled: true, size: 45 } }, encoding: { x, y: { field: 'value', type: 'quantitative', title: c.yTitle }, color, ...dash } },
    { transform: [{ filter: 'datum.lo != null' }], mark: { type: 'errorbar', ticks: true }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: c.yTitle }, y2: { field: 'hi' }, color } },
  ]
  if (c.rule) {
    layers.push({ data: { values: [c.rule] }, mark: { type: 'rule', strokeDash: [5, 3], color: '#555' }, encoding: { y: { field: 'y', type: 'quantitative' } } })
    layers.push({ data: { values: [c.rule] }, mark: { type: 'text', align: 'left', dx: 4, baseline: 'middle', color: '#555', fontSize: 10 }, encoding: { y: { field: 'y', type: 'quantitative' }, x: { value: 'width' }, text: { field: 'label' } } })
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: c.title, anchor: 'start', font: FONT, fontSize: 13 },
    width: 520, height: 220,
    data: { values: c.points },
    layer: layers,
    config: { font: FONT, view: { stroke: null }, legend: { orient: 'bottom', labelFont: FONT, labelLimit: 400, columns: LEGEND_COLUMNS } },
  } as TopLevelSpec
}

/** Renders a Vega-Lite spec to an SVG string, without a browser. */
export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/** One point of a trend: a series (a cell), a run (its axis label, unique and in time order), a median with its CI; `change` marks a change point's first run after the step. */
export interface TrendPoint { series: string; run: string; value: number; lo: number | null; hi: number | null; change?: 'confirmed' | 'unconfirmed' }

export interface TrendChartSpec {
  title: string
  yTitle: string
  /** Every run of the series in time order: the x axis, also where a run did not measure this metric. Newlines break a label. */
  runs: string[]
  points: TrendPoint[]
}

/** Change-point marks: red where the step persisted into the next run, orange where the last run has not yet confirmed it. */
const CHANGE_COLORS = { confirmed: '#c0392b', unconfirmed: '#e67e22' }

/**
 * Medians over runs in time order, one line per series, the 95 % CI as a band, change points ringed with a rule at their run.
 * A single run has no band to draw: its series side by side, each with an error bar.
 */
export function trendChartSpec(c: TrendChartSpec): TopLevelSpec {
  const series = [...new Set(c.points.map((p) => p.series))]
  const one = c.runs.length === 1
  const axis = { labelAngle: 0, labelExpr: 'split(datum.label, "\\n")', labelFontSize: 10, labelLimit: 160, labelOverlap: 'parity' as const }
  const x = { field: 'run', type: 'ordinal' as const, title: null, sort: c.runs, scale: one ? { domain: c.runs, paddingOuter: 0.8 } : { domain: c.runs, padding: 0.3 }, axis }
  const offset = one ? { xOffset: { field: 'series', type: 'nominal' as const, sort: series } } : {}
  const palette = { domain: series, ...(series.length > COLORS.length ? { scheme: 'tableau20' } : { range: COLORS }) }
  const color = { field: 'series', type: 'nominal' as const, title: null, sort: series, scale: palette }
  // the band fills by the same palette on a channel of its own, without a legend (a legend shared with the lines would list every series twice)
  const fill = { field: 'band', type: 'nominal' as const, sort: series, scale: palette, legend: null }
  const y = { field: 'value', type: 'quantitative' as const, title: c.yTitle, scale: { zero: false } }
  const layers: unknown[] = [
    {
      transform: [{ filter: 'datum.lo != null' }, { calculate: 'datum.series', as: 'band' }],
      mark: one ? { type: 'errorbar', ticks: true } : { type: 'area', opacity: 0.15 },
      encoding: { x, ...offset, y: { field: 'lo', type: 'quantitative', title: c.yTitle, scale: { zero: false } }, y2: { field: 'hi' }, ...(one ? { color } : { fill }) },
    },
    { mark: one ? { type: 'point', filled: true, size: 45 } : { type: 'line', point: { filled: true, size: 40 } }, encoding: { x, ...offset, y, color } },
  ]
  const changes = c.points.filter((p) => p.change)
  if (changes.length) {
    const kinds = (['confirmed', 'unconfirmed'] as const).filter((k) => changes.some((p) => p.change === k))
    const byKind = { condition: { test: "datum.change === 'confirmed'", value: CHANGE_COLORS.confirmed }, value: CHANGE_COLORS.unconfirmed }
    layers.push({ data: { values: changes }, mark: { type: 'rule', strokeDash: [4, 3], opacity: 0.6 }, encoding: { x, color: byKind } })
    layers.push({
      data: { values: changes }, mark: { type: 'point', size: 260, strokeWidth: 2.5, filled: false },
      encoding: { x, y, stroke: { field: 'change', type: 'nominal', title: 'change point', scale: { domain: kinds, range: kinds.map((k) => CHANGE_COLORS[k]) } } },
    })
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: c.title, anchor: 'start', font: FONT, fontSize: 13 },
    width: Math.min(980, Math.max(480, c.runs.length * 120)), height: 220,
    data: { values: c.points },
    layer: layers,
    config: { font: FONT, view: { stroke: null }, axis: { labelFont: FONT, titleFont: FONT }, legend: { orient: 'bottom', labelFont: FONT, labelLimit: 400, columns: LEGEND_COLUMNS } },
  } as TopLevelSpec
}
