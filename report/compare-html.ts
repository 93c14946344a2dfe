/**
 * compare.html — one self-contained file like report.html (inline CSS and SVG, no script): the
 * warnings first, then every claim whose verdict changed, then per scenario the runs side by side per
 * cell (its declared charts, one bar and CI per run), the throughput curves of every run overlaid (the
 * baseline dashed), and the change table of each candidate against the baseline: relative change with
 * its 95 % CI, q and p, the minimum detectable effect, the verdict.
 */
import type { RunResults } from '../harness/results/results.ts'
import type { Scenario } from '../harness/run/scenario.ts'
import { barChartSpec, curveChartSpec, levelCurves, scenarioCharts, toSvg, type Bar, type BarChartSpec, type CurvePoint } from './charts.ts'
import { verdictChanges, verdictsWithMargins } from './verdict-margins.ts'
import type { Comparison, MetricChange } from './compare.ts'
import { changeVerdict, METHOD_SENTENCE } from './compare-render.ts'
import { CSS, esc, table } from './html.ts'
import { fmt } from './model.ts'

/** One run of a comparison: the label it is shown under (baseline, candidate 1…), its folder, its results. */
export interface ComparedRun { label: string; dir: string; results: RunResults }

/** How an A/B run's two sides are compared (report/ab.ts). */
const PAIRED_SENTENCE = 'Both versions were measured in the same repeats, their windows alternating A B, B A on the same cores: each metric is tested block by block, ' +
  'on the logarithms of the per-block ratios candidate ÷ baseline averaged two blocks at a time (ABBA sets, so that a drift of the host within a set cancels), Student\'s t over the sets of every repeat ' +
  `(over the repeats' means where the repeats disagree, F-test p < 0.05); the change is the sets' mean, with its 95 % CI and the MDE from the same sets; Benjamini–Hochberg q < 0.05 across the cells' metrics.`
const pct = (x: number) => `${x >= 0 ? '+' : ''}${fmt(x * 100)} %`
const small = (x: number) => (x < 0.001 ? '<0.001' : fmt(x))

/** The runs' bars of one declared chart side by side: each bar's group is its run (after its own group, where it had one). */
function sideBySide(charts: ReadonlyArray<{ label: string; chart: BarChartSpec }>): BarChartSpec {
  const bars: Bar[] = charts.flatMap(({ label, chart }) => chart.bars.map((b) => ({ ...b, group: b.group ? `${b.group} · ${label} run` : label })))
  return { ...charts[0]!.chart, bars, ticks: undefined }
}

/** Every run's points of a curve, the baseline's dashed. */
function overlaid(runs: readonly ComparedRun[], scenario: Scenario, metric: Parameters<typeof levelCurves>[2]): CurvePoint[] {
  return runs.flatMap((run) => levelCurves({ results: run.results, scenarios: [scenario] }, scenario, metric).map((p) => ({ ...p, dash: run.label })))
}

function changeTable(changes: readonly MetricChange[]): string {
  const rows = changes.map((x) => [
    x.cellLabel, x.label, fmt(x.baseline), fmt(x.candidate),
    x.changeRel === null ? 'n/a' : `${pct(x.changeRel)}${x.changeCi95 ? ` [${pct(x.changeCi95[0])}, ${pct(x.changeCi95[1])}]` : ''}`,
    x.q === null || x.p === null ? `n=${x.nBaseline}/${x.nCandidate}` : `q=${small(x.q)} (p=${small(x.p)})`,
    x.mdeRel === null ? '–' : `±${fmt(x.mdeRel * 100)} %`,
    changeVerdict(x),
  ])
  return table(['cell', 'metric', 'baseline', 'candidate', 'change [95 % CI]', 'q (p)', 'MDE', 'verdict'], rows, false)
    .replace(/<td>(WORSE)<\/td>/g, '<td class="flag">$1</td>')
}

/** Claims whose verdict differs between the baseline and any candidate, each run's verdict with its margin. */
function verdictChangeTable(runs: readonly ComparedRun[]): string {
  const all = runs.map((r) => verdictsWithMargins(r.results))
  const ids = new Set(all.slice(1).flatMap((vs) => verdictChanges(all[0]!, vs).map((c) => c.id)))
  if (ids.size === 0) {
    const fragile = all.flatMap((vs, i) => vs.filter((v) => v.margin.fragile).map((v) => `${v.id} (${runs[i]!.label})`))
    return `<p>No verdict changed: all ${all[0]!.length} claims read the same in every run.${fragile.length ? ` Fragile in some run: ${esc(fragile.join(', '))}.` : ''}</p>`
  }
  const rows = all[0]!.filter((v) => ids.has(v.id)).map((v) => `<tr data-claim="${esc(v.id)}"><td>${esc(v.claim)}</td>${all.map((vs) => {
    const w = vs.find((x) => x.id === v.id)
    return w ? `<td><span class="v v-${w.verdict.replace(/ /g, '-')}">${esc(w.verdict)}</span>${w.margin.fragile ? '<div class="fragile">fragile</div>' : ''}<div><small>${esc(w.condition)}</small></div>` +
      `${w.margin.text ? `<div class="margin"><small>${esc(w.margin.text)}</small></div>` : ''}</td>` : '<td>–</td>'
  }).join('')}</tr>`)
  return `<table id="verdicts-changed"><thead><tr><th>claim</th>${runs.map((r) => `<th>${esc(r.label)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`
}

/** One scenario: its charts with every run side by side, its curves overlaid, each candidate's change table. */
async function scenarioSection(runs: readonly ComparedRun[], comparisons: readonly Comparison[], scenario: Scenario): Promise<string> {
  const changes = comparisons.map((c) => c.changes.filter((x) => x.scenario === scenario.name))
  if (changes.every((c) => c.length === 0)) return ''
  const parts = [`<section class="scenario" data-scenario="${esc(scenario.name)}"><h2 id="${esc(scenario.name)}">${esc(scenario.name)}</h2>`]
  const perRun = runs.map((run) => ({ label: run.label, charts: scenarioCharts({ results: run.results, scenarios: [scenario] }, scenario) }))
  for (let k = 0; k < perRun[0]!.charts.length; k++) {
    const chart = sideBySide(perRun.map((r) => ({ label: r.label, chart: r.charts[k]! })))
    if (chart.bars.length > 0) parts.push(`<div class="chart">${await toSvg(barChartSpec(chart))}</div>`)
  }
  for (const curve of scenario.curves ?? []) {
    const points = overlaid(runs, scenario, curve.metric)
    if (points.length > 0) parts.push(`<div class="chart">${await toSvg(curveChartSpec({ title: `${curve.title} — ${runs[0]!.label} dashed`, xTitle: curve.xTitle, yTitle: curve.yTitle, points, ...(curve.rule ? { rule: curve.rule } : {}) }))}</div>`)
  }
  changes.forEach((c, i) => {
    if (c.length) parts.push(`<h3>${esc(runs[i + 1]!.label)} against ${esc(runs[0]!.label)}</h3>`, changeTable(c))
  })
  parts.push('</section>')
  return parts.join('\n')
}

export async function renderCompareHtml(runs: readonly ComparedRun[], comparisons: readonly Comparison[], scenarios: readonly Scenario[]): Promise<string> {
  const r0 = runs[0]!.results
  const runList = runs.map((r) => `<li><b>${esc(r.label)}</b>: <code>${esc(r.dir)}</code> · <code>${esc(r.results.gitSha?.slice(0, 7) ?? 'no git')}</code> · started ${esc(r.results.startedAt)} · ${esc(r.results.status)}</li>`)
  const warnings = comparisons.flatMap((c, i) => c.warnings.map((w) => `${runs[i + 1]!.label}: ${w}`))
  const sections = await Promise.all(scenarios.filter((s) => r0.cells.some((c) => c.scenario === s.name)).map((s) => scenarioSection(runs, comparisons, s)))
  const only = comparisons.flatMap((c, i) => [...c.onlyInBaseline.map((id) => `${id}: only in ${runs[0]!.label}`), ...c.onlyInCandidate.map((id) => `${id}: only in ${runs[i + 1]!.label}`)])
  const body = [
    `<h1>authbench compare</h1><ul class="sub">${runList.join('')}</ul>`,
    '<h2 id="warnings">Warnings</h2>', warnings.length ? `<ul id="compare-warnings">${warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : '<p>None: same machine, Node and packages, and host speeds that agree.</p>',
    '<h2 id="verdicts">Verdicts that changed</h2>', verdictChangeTable(runs),
    ...sections.filter(Boolean),
    only.length ? `<h2 id="unmatched">Cells in one run only</h2><ul>${only.map((x) => `<li><code>${esc(x)}</code></li>`).join('')}</ul>` : '',
    `<h2 id="method">Method</h2><p>${esc(comparisons.some((c) => c.changes.some((x) => x.test === 'paired-log')) ? PAIRED_SENTENCE : `${METHOD_SENTENCE} The change's CI is Welch's 95 % interval of the difference in means on the log scale; the change itself is that of the medians.`)}</p>`,
  ]
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>authbench compare</title><style>${CSS}</style></head><body>${body.join('\n')}</body></html>\n`
}
