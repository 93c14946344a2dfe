/**
 * history.html — every run of a results folder in time order: the runs grouped into series (same
 * machine, same measuring options), per series one trend chart per headline metric of each scenario
 * (one line per cell: the median of each run with its 95 % CI as a band), and the change points found
 * by the rule in CHANGE_RULE. A pure function of the runs; the page is self-contained (inline CSS and
 * SVG, no script) and the same runs give the same bytes.
 *
 * Change points, the rule (CHANGE_RULE): a step between runs i−1 and i of a series is marked where
 * the comparison `compare` makes (compareRuns: Welch's test on the per-repeat values, Benjamini–Hochberg
 * q < FDR_Q within each of its two families of metrics of the pair of runs) finds the metric of the
 * cell significant from i−1 to i, and also from each of the two runs before the step (i−2, i−1) to each of the two after it (i, i+1),
 * all in the same direction: both levels held for two runs. A one-run excursion fails on both of its
 * sides (its neighbours do not differ from each other). Where a side has one run only (a step after the
 * first run or into the last, or a neighbour that did not measure the cell), the pairs that exist must
 * agree and the change point is marked unconfirmed.
 */
import type { RunResults } from '../harness/results/results.ts'
import type { BenchOptions } from '../harness/run/options.ts'
import type { Scenario } from '../harness/run/scenario.ts'
import { toSvg, trendChartSpec, type TrendPoint } from './chart-specs.ts'
import { compareRuns, type MetricChange } from './compare.ts'
import { changeVerdict } from './compare-render.ts'
import { CSS, esc, table } from './html.ts'
import { cellLabel, declFor, fmt, isMeasured, metricHeader, metricOf, tableMetrics } from './model.ts'
import { FDR_Q } from './significance.ts'

export const HISTORY_FILE = 'history.html'

/**
 * The options that change what a cell's figures mean: runs that differ in any of them (or in the
 * machine: hostname, CPU model, cores) form different series. The options that only choose cells
 * (strategies, profiles, algs, scenarios, instances) are not among them — cells are matched by id, so
 * a run of fewer cells adds points to fewer lines — nor `repeats`, which changes precision, not value.
 */
export const SERIES_OPTIONS = [
  'durationSec', 'windowSec', 'warmupSec', 'connections', 'connectionLevels', 'generator', 'generatorProcesses', 'users', 'balancer', 'pin', 'quick', 'targets',
] as const satisfies ReadonlyArray<keyof BenchOptions>
type SeriesOption = (typeof SERIES_OPTIONS)[number]

/** What a run did before it recorded an option: autocannon, in one process, was all there was. */
const OPTION_BEFORE_RECORDED: Partial<Record<SeriesOption, unknown>> = { generator: 'autocannon', generatorProcesses: 1 }

export const CHANGE_RULE = `A change point is a step between two consecutive runs of a series where compare's test (Welch's t-test on the logarithms of the per-repeat values, ` +
  `Benjamini–Hochberg q < ${FDR_Q} within each of compare's two families of metrics of the pair of runs: host-timed figures, and the rest) finds the metric significantly changed, and finds it changed in the same direction from each of the two runs before the step ` +
  'to each of the two after it: the level before and the level after each held for two runs, so that a one-run excursion is not marked, neither on its way up nor on its way back. ' +
  'Where one side has a single run (a step after the first run or into the last, or a neighbour that did not measure the cell), the pairs that exist must agree and the change point is marked unconfirmed, in orange.'

/** One run folder: its name in the results folder and its results. */
export interface HistoryRun { dir: string; results: RunResults }

export interface ChangePoint {
  cellId: string
  cellLabel: string
  scenario: string
  metric: string
  /** Header with the unit, e.g. `CPU /me ÷ /health (ratio)`. */
  label: string
  /** Index in the series of the first run after the step. */
  run: number
  step: MetricChange
  /** The other pairs across the step (from runs run−2, run−1 to runs run, run+1), where both runs measured the cell. */
  across: Array<{ from: number; to: number; change: MetricChange }>
  status: 'confirmed' | 'unconfirmed'
}

export interface Trend { scenario: string; metric: string; label: string; points: TrendPoint[] }

export interface Series {
  /** 1-based; series 1 holds the most runs. */
  number: number
  /** e.g. `vm (AMD EPYC, 1 core)`. */
  machine: string
  /** The measuring options in words, e.g. `durationSec 3 · windowSec 0.5 · …`. */
  options: string
  runs: HistoryRun[]
  /** Why it is kept apart from series 1; null for series 1. */
  apart: string | null
  trends: Trend[]
  changePoints: ChangePoint[]
}

export interface History { runCount: number; series: Series[] }

interface SeriesKey { hostname: string; cpuModel: string; cores: number; options: Partial<Record<SeriesOption, unknown>> }

function seriesKey(r: RunResults): SeriesKey {
  const options = Object.fromEntries(SERIES_OPTIONS.map((o) => [o, r.options[o] ?? OPTION_BEFORE_RECORDED[o]]))
  return { hostname: r.machine.hostname, cpuModel: r.machine.cpuModel, cores: r.machine.cores, options }
}

const show = (v: unknown) => (v === undefined ? 'not recorded' : Array.isArray(v) ? (v.length ? v.join(',') : 'none') : String(v))
const machineOf = (k: SeriesKey) => `${k.hostname} (${k.cpuModel}, ${k.cores} core${k.cores === 1 ? '' : 's'})`
const runs = (n: number) => `${n} run${n === 1 ? '' : 's'}`

/** Why a series is not series 1, in one line: the machine that differs, the options that differ. */
function keptApart(k: SeriesKey, main: SeriesKey, n: number): string {
  const parts: string[] = []
  if (k.hostname !== main.hostname || k.cpuModel !== main.cpuModel || k.cores !== main.cores) parts.push(`different machine (${machineOf(k)} vs ${machineOf(main)})`)
  const opts = SERIES_OPTIONS.filter((o) => JSON.stringify(k.options[o]) !== JSON.stringify(main.options[o])).map((o) => `${o} ${show(k.options[o])} vs ${show(main.options[o])}`)
  if (opts.length) parts.push(`different options: ${opts.join(', ')}`)
  return `${runs(n)} on ${machineOf(k)} kept apart from series 1: ${parts.join('; ')}`
}

/**
 * Every measured cell summarised afresh from its repeats by the current method, so that runs written by
 * older versions (whose summaries came from other estimators) do not step in the trend for that alone.
 */
function resummarized(r: RunResults, scenarios: readonly Scenario[]): RunResults {
  const byName = new Map(scenarios.map((s) => [s.name, s]))
  return {
    ...r,
    cells: r.cells.map((c) => {
      const s = byName.get(c.scenario)
      return isMeasured(c) && s ? { ...c, summary: s.summarize(c.repeats) } : c
    }),
  }
}

/** The change points of one series, by the rule in CHANGE_RULE. */
export function changePoints(series: readonly HistoryRun[], scenarios: readonly Scenario[]): ChangePoint[] {
  const cache = new Map<string, MetricChange[]>()
  const compared = (a: number, b: number) => {
    if (!cache.has(`${a} ${b}`)) cache.set(`${a} ${b}`, compareRuns(series[a]!.results, series[b]!.results, scenarios).changes)
    return cache.get(`${a} ${b}`)!
  }
  const out: ChangePoint[] = []
  for (let i = 1; i < series.length; i++) {
    for (const step of compared(i - 1, i).filter((x) => x.significant)) {
      const up = step.candidate > step.baseline
      const pairs = [[i - 2, i], [i - 2, i + 1], [i - 1, i + 1]].filter(([a, b]) => a! >= 0 && b! < series.length)
      const across = pairs.flatMap(([from, to]) => {
        const change = compared(from!, to!).find((y) => y.cellId === step.cellId && y.metric === step.metric)
        return change ? [{ from: from!, to: to!, change }] : []
      })
      if (!across.every((x) => x.change.significant && (x.change.candidate > x.change.baseline) === up)) continue
      out.push({ cellId: step.cellId, cellLabel: step.cellLabel, scenario: step.scenario, metric: step.metric, label: step.label, run: i, step, across, status: across.length === 3 ? 'confirmed' : 'unconfirmed' })
    }
  }
  return out
}

/** `#3 2026-11-28` / `10:29 8452d69`: unique (the number), in time order, two lines under the axis. */
export function runLabel(r: RunResults, index: number): string {
  const [date, time] = [r.startedAt.slice(0, 10), r.startedAt.slice(11, 16)]
  return `#${index + 1} ${date}\n${time} ${r.gitSha?.slice(0, 7) ?? 'no git'}`
}

/** Per scenario the runs measured, per headline metric, one trend: each cell's median and CI in each run, change points marked. */
function trends(series: readonly HistoryRun[], scenarios: readonly Scenario[], changes: readonly ChangePoint[]): Trend[] {
  const out: Trend[] = []
  for (const scenario of scenarios) {
    const cells = series.flatMap((r) => r.results.cells.filter((c) => c.scenario === scenario.name))
    const headline = tableMetrics(scenario, cells, Number.MAX_SAFE_INTEGER).filter((n) => declFor(scenario, n)?.decl.headline)
    for (const metric of headline) {
      const points = series.flatMap((r, i) => r.results.cells.filter((c) => c.scenario === scenario.name).flatMap((c): TrendPoint[] => {
        const e = metricOf(c, metric)
        if (e === null) return []
        const change = changes.find((x) => x.cellId === c.id && x.metric === metric && x.run === i)?.status
        return [{ series: cellLabel(c), run: runLabel(r.results, i), value: e.median, lo: e.ci95?.[0] ?? null, hi: e.ci95?.[1] ?? null, ...(change ? { change } : {}) }]
      }))
      if (points.length) out.push({ scenario: scenario.name, metric, label: metricHeader(scenario, metric), points })
    }
  }
  return out
}

const time = (r: HistoryRun) => Date.parse(r.results.startedAt)

/** Pure: the runs (any order) grouped into series, the largest first, each with its trends and change points. */
export function buildHistory(input: readonly HistoryRun[], scenarios: readonly Scenario[]): History {
  const sorted = input.map((r) => ({ dir: r.dir, results: resummarized(r.results, scenarios) }))
    .sort((a, b) => time(a) - time(b) || a.dir.localeCompare(b.dir, 'en'))
  const groups = new Map<string, { key: SeriesKey; runs: HistoryRun[] }>()
  for (const r of sorted) {
    const key = seriesKey(r.results)
    const id = JSON.stringify(key)
    if (!groups.has(id)) groups.set(id, { key, runs: [] })
    groups.get(id)!.runs.push(r)
  }
  // the most runs first; of equal ones, the one with the newest run
  const ordered = [...groups.values()].sort((a, b) => b.runs.length - a.runs.length || time(b.runs.at(-1)!) - time(a.runs.at(-1)!))
  const main = ordered[0]?.key
  const series = ordered.map((g, k): Series => {
    const changes = changePoints(g.runs, scenarios)
    return {
      number: k + 1, machine: machineOf(g.key), options: SERIES_OPTIONS.map((o) => `${o} ${show(g.key.options[o])}`).join(' · '), runs: g.runs,
      apart: k === 0 ? null : keptApart(g.key, main!, g.runs.length), trends: trends(g.runs, scenarios, changes), changePoints: changes,
    }
  })
  return { runCount: sorted.length, series }
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${x >= 0 ? '+' : ''}${fmt(x * 100)} %`)
const small = (x: number | null) => (x === null ? '–' : x < 0.001 ? '<0.001' : fmt(x))
const oneLine = (label: string) => label.replace('\n', ' ')

/** What changed from the run before: the code, Node, package versions. */
function changedSince(prev: RunResults | undefined, r: RunResults): string {
  if (!prev) return ''
  const parts: string[] = []
  if (prev.gitSha !== r.gitSha) parts.push('code')
  if (prev.machine.node !== r.machine.node) parts.push(`Node ${prev.machine.node} → ${r.machine.node}`)
  const pkgs = [...new Set([...Object.keys(prev.packages), ...Object.keys(r.packages)])].sort().filter((p) => prev.packages[p] !== r.packages[p])
  if (pkgs.length) parts.push(`${pkgs.join(', ')} (versions)`)
  return parts.join('; ') || 'nothing recorded'
}

function runTable(s: Series): string {
  const rows = s.runs.map((r, i) => [`#${i + 1}`, r.results.startedAt, r.results.gitSha?.slice(0, 7) ?? 'no git', r.results.status, r.results.machine.node, r.dir, changedSince(s.runs[i - 1]?.results, r.results)])
  return table(['run', 'started (UTC)', 'git', 'status', 'Node', 'folder', 'changed since the run before'], rows, false)
}

function changeTable(s: Series): string {
  if (s.changePoints.length === 0) return `<p>None: ${s.runs.length > 1 ? 'no step between these runs meets the rule below' : 'one run, no step to test'}.</p>`
  const rows = s.changePoints.map((c) => [
    c.cellLabel, c.label, `${oneLine(runLabel(s.runs[c.run - 1]!.results, c.run - 1))} → ${oneLine(runLabel(s.runs[c.run]!.results, c.run))}`,
    fmt(c.step.baseline), fmt(c.step.candidate), `${pct(c.step.changeRel)} (q=${small(c.step.q)})`,
    c.across.map((x) => `#${x.from + 1}→#${x.to + 1} ${pct(x.change.changeRel)}`).join(', ') || 'none', c.status, changeVerdict(c.step),
  ])
  return table(['cell', 'metric', 'step between runs', 'before', 'after', 'change (q)', 'the other pairs across the step', 'change point', 'compare\'s verdict'], rows, false)
    .replace(/<td>(confirmed)<\/td>/g, '<td class="flag">$1</td>')
}

async function seriesSection(s: Series): Promise<string> {
  const id = `series-${s.number}`
  const parts = [
    `<section class="series" id="${id}" data-runs="${s.runs.length}"><h2>Series ${s.number}: ${esc(runs(s.runs.length))} on ${esc(s.machine)}</h2>`,
    `<p class="sub">${esc(s.options)}</p>`, s.apart ? `<p class="apart">${esc(s.apart)}.</p>` : '',
  ]
  let scenario = ''
  for (const t of s.trends) {
    if (t.scenario !== scenario) parts.push(`<h3 id="${id}-${esc(t.scenario)}">${esc(t.scenario)}</h3>`)
    scenario = t.scenario
    const spec = trendChartSpec({ title: `${t.scenario}: ${t.label}, median and 95 % CI per run`, yTitle: t.label, runs: s.runs.map((r, i) => runLabel(r.results, i)), points: t.points })
    parts.push(`<div class="chart" data-metric="${esc(t.metric)}">${await toSvg(spec)}</div>`)
  }
  parts.push(`<h3 id="${id}-change-points">Change points</h3>`, changeTable(s), `<h3 id="${id}-runs">Runs</h3>`, runTable(s), '</section>')
  return parts.join('\n')
}

/** The page: the series (why the others are apart), one section per series, the rule. */
export async function renderHistoryHtml(h: History): Promise<string> {
  const list = h.series.map((s) => `<li><a href="#series-${s.number}">Series ${s.number}</a>: ${esc(runs(s.runs.length))}, ${s.changePoints.length} change point(s)${s.apart ? ` — ${esc(s.apart)}` : ''}</li>`)
  const body = [
    `<h1>authbench history</h1><p class="sub">${esc(runs(h.runCount))} in time order, in ${h.series.length} series: runs on different machines or with different measuring options are kept apart.</p>`,
    `<h2 id="series">Series</h2><ul id="series-list">${list.join('')}</ul>`,
    ...await Promise.all(h.series.map(seriesSection)),
    `<h2 id="method">Method</h2><p>${esc(CHANGE_RULE)}</p>`,
    `<p>Each point is a run's median of the metric (each cell summarised afresh from its repeats), its band the 95 % CI. Series are split by machine (hostname, CPU model, cores) and by these options: ${esc(SERIES_OPTIONS.join(', '))}.</p>`,
  ]
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>authbench history</title><style>${CSS}.apart{color:#8a4b00}</style></head><body>${body.join('\n')}</body></html>\n`
}
