/**
 * Charts as SVG, from Vega-Lite specs rendered by vega's server-side `toSVG` (no browser, no canvas).
 * Every bar carries its value as text (so a 0 is a visible "0"), a 95 % CI where one exists (error
 * bar), and its cell's flags next to it. Axis titles come from the scenarios' metric declarations.
 */
import * as vega from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'
import type { Cell, ThroughputLevelSummary } from '../harness/results/results.ts'
import type { Estimate } from '../harness/measure/stats.ts'
import type { Scenario } from '../harness/run/scenario.ts'
import { cellFlags, cellLabel, flagConcerns, cellsOf, declFor, fmt, isMeasured, metricHeader, metricNames, metricOf, type ReportInput } from './model.ts'
import { layoutOf } from '../scenarios/scale-out.ts'
import { metric, pattern } from './metric-names.ts'

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

/** One point of a curve: a series (a cell), an x (connections), a value with its CI. */
export interface CurvePoint { series: string; x: number; value: number; lo: number | null; hi: number | null }

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
  const layers: unknown[] = [
    { mark: { type: 'line', point: { filled: true, size: 45 } }, encoding: { x, y: { field: 'value', type: 'quantitative', title: c.yTitle }, color } },
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

/** Curves of a throughput level metric against connections, one series per cell that measured several levels. */
export function throughputCurves(input: ReportInput, metric: keyof Omit<ThroughputLevelSummary, 'connections' | 'cpuRatioPerRepeat' | 'serverSaturated' | 'generatorSaturated' | 'saturatedWindowShare'>, scale = 1): CurvePoint[] {
  const points: CurvePoint[] = []
  for (const cell of cellsOf(input.results, 'throughput')) {
    if (!isMeasured(cell) || cell.summary!.kind !== 'throughput') continue
    const levels = cell.summary!.levels ?? []
    if (levels.length < 2) continue
    for (const l of levels) {
      const e = l[metric] as Estimate | null
      if (e) points.push({ series: cellLabel(cell), x: l.connections, value: e.median * scale, lo: e.ci95 ? e.ci95[0] * scale : null, hi: e.ci95 ? e.ci95[1] * scale : null })
    }
  }
  return points
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

const axis = (scenario: Scenario, metric: string) => metricHeader(scenario, metric)
const sizeName = (suffix: string) => `${Number(suffix).toLocaleString('en-US')} credentials`

/** The charts of one scenario, as Vega-Lite specs (empty when the run has no data for them). */
export function scenarioCharts(input: ReportInput, scenario: Scenario): BarChartSpec[] {
  const s = scenario
  switch (s.name) {
    case 'throughput': {
      const me = barsFor(input, s, metric('throughput', 'meCpuMicrosPerRequest'), { group: () => '/me' })
      const health = barsFor(input, s, metric('throughput', 'healthCpuMicrosPerRequest'), { group: () => '/health (baseline)' })
      const cpu = [...me, ...health]
      return [
        { title: 'Server CPU per request: /me beside the /health baseline', yTitle: 'server CPU per request (µs/req)', bars: cpu },
        { title: 'Auth cost as a ratio to the baseline (/me ÷ /health CPU, 95 % CI)', yTitle: axis(s, metric('throughput', 'cpuRatio')), bars: barsFor(input, s, metric('throughput', 'cpuRatio')), rule: { y: 1, label: '/health = 1' } },
        { title: 'Redis commands per /me request', yTitle: axis(s, metric('throughput', 'redisCommandsPerRequest')), bars: barsFor(input, s, metric('throughput', 'redisCommandsPerRequest')) },
      ]
    }
    case 'request-size':
      return [{ title: 'Credential bytes per request, by claim set', yTitle: 'credential bytes per request (B/req)', bars: barsForPattern(input, s, pattern('request-size', 'credentialBytesPerRequest*'), (x) => `${x.toLowerCase()} claims`) }]
    case 'login':
      return [
        { title: 'Server CPU per login', yTitle: axis(s, metric('login', 'cpuMicrosPerLogin')), bars: barsFor(input, s, metric('login', 'cpuMicrosPerLogin')) },
        { title: 'Redis commands per login', yTitle: axis(s, metric('login', 'redisCommandsPerLogin')), bars: barsFor(input, s, metric('login', 'redisCommandsPerLogin')) },
      ]
    case 'revocation': {
      const windowBars = barsFor(input, s, metric('revocation', 'windowSameInstanceSec'), { group: () => 'same instance' })
        .concat(barsFor(input, s, metric('revocation', 'windowOtherInstanceSec'), { group: () => 'other instance' }))
      const ticks = cellsOf(input.results, s.name).flatMap((c) => {
        const ttl = metricOf(c, metric('revocation', 'configuredTtlSec'))
        return ttl ? [{ x: cellLabel(c), group: 'same instance', y: ttl.median }] : []
      })
      return [
        { title: 'Seconds a copied credential still works after logout (red tick: its configured lifetime)', yTitle: axis(s, metric('revocation', 'windowSameInstanceSec')), bars: windowBars, ticks },
        { title: 'Share of a user\'s credentials still accepted after revoke-all', yTitle: axis(s, metric('revocation', 'revokeAllStillAcceptedShare')), bars: barsFor(input, s, metric('revocation', 'revokeAllStillAcceptedShare')) },
      ]
    }
    case 'memory':
      return [
        { title: 'Server heap per live credential, by population size', yTitle: 'heap per credential (B/credential)', bars: barsForPattern(input, s, pattern('memory', 'heapBytesPerCredentialAt*'), sizeName) },
        { title: 'Redis memory per live credential, by population size', yTitle: 'Redis per credential (B/credential)', bars: barsForPattern(input, s, pattern('memory', 'redisBytesPerCredentialAt*'), sizeName) },
      ]
    case 'scale-out': {
      const layout = (c: Cell) => (c.instances === 1 ? '1 instance' : `${c.instances} instances, ${layoutOf(c) === 'sticky' ? 'sticky' : 'round robin'}`)
      return [
        { title: 'Share of authenticated requests refused, by layout', yTitle: axis(s, metric('scale-out', 'authFailureShare')), bars: barsFor(input, s, metric('scale-out', 'authFailureShare'), { x: (c) => `${c.strategy} ${c.profile}`, group: layout }) },
        { title: 'Projected instances at which one Redis core saturates', yTitle: axis(s, metric('scale-out', 'projectedInstancesAtRedisSaturation')), bars: barsFor(input, s, metric('scale-out', 'projectedInstancesAtRedisSaturation'), { x: (c) => `${c.strategy} ${c.profile}`, group: layout }) },
      ]
    }
    case 'failover':
      return [
        { title: 'Logins lost when one of two instances is killed', yTitle: axis(s, metric('failover', 'lostLoginShareAfterKill')), bars: barsFor(input, s, metric('failover', 'lostLoginShareAfterKill')) },
        { title: 'During a Redis outage: share of 5xx answers', yTitle: axis(s, metric('failover', 'redisOutageFiveXxShare')), bars: barsFor(input, s, metric('failover', 'redisOutageFiveXxShare')) },
        { title: 'Seconds to recover after Redis is back', yTitle: axis(s, metric('failover', 'redisRecoverySec')), bars: barsFor(input, s, metric('failover', 'redisRecoverySec')) },
        { title: 'Revoked tokens accepted again after a Redis restart', yTitle: axis(s, metric('failover', 'revokedTokenAcceptedAfterRedisRestart')), bars: barsFor(input, s, metric('failover', 'revokedTokenAcceptedAfterRedisRestart')) },
      ]
    case 'hostile':
      return [
        { title: '5xx answers to invalid credentials (must be 0)', yTitle: axis(s, metric('hostile', 'fiveXxCount')), bars: barsFor(input, s, metric('hostile', 'fiveXxCount')) },
        { title: 'CPU of a refusal relative to an acceptance', yTitle: axis(s, metric('hostile', 'refusalCostRatio')), bars: barsFor(input, s, metric('hostile', 'refusalCostRatio')), rule: { y: 1, label: 'acceptance = 1' } },
        { title: 'State created by 1 000 anonymous requests (Redis keys)', yTitle: axis(s, metric('hostile', 'redisKeysPer1kAnonymousRequests')), bars: barsFor(input, s, metric('hostile', 'redisKeysPer1kAnonymousRequests')) },
      ]
    default: {
      // a scenario this file does not know yet still gets a chart: its first headline metric
      const first = s.metrics.find((d) => d.headline && !d.name.endsWith('*'))
      return first ? [{ title: first.label, yTitle: axis(s, first.name), bars: barsFor(input, s, first.name) }] : []
    }
  }
}

/** Charts against concurrency (throughput's sweep); empty for other scenarios or single-level runs. */
export function scenarioCurves(input: ReportInput, scenario: Scenario): CurveChartSpec[] {
  if (scenario.name !== 'throughput') return []
  return [
    { title: 'Auth cost against concurrency (/me ÷ baseline CPU, 95 % CI)', xTitle: 'connections (closed loop, log scale)', yTitle: 'CPU /me ÷ baseline (ratio)', points: throughputCurves(input, 'cpuRatio'), rule: { y: 1, label: 'baseline = 1' } },
    { title: 'Server CPU utilisation in the /me windows: where the server saturates', xTitle: 'connections (closed loop, log scale)', yTitle: 'server CPU (share of one core)', points: throughputCurves(input, 'meServerCpuShare'), rule: { y: 1, label: 'one core' } },
    { title: 'Redis commands per /me request against concurrency', xTitle: 'connections (closed loop, log scale)', yTitle: 'Redis commands (cmd/req)', points: throughputCurves(input, 'redisCommandsPerRequest') },
    { title: '/me latency p99 against concurrency (closed loop: includes queueing)', xTitle: 'connections (closed loop, log scale)', yTitle: '/me latency p99 (ms)', points: throughputCurves(input, 'meLatencyP99Ms') },
  ]
}
