/**
 * report.html — one self-contained file (inline CSS and SVG, no script, no network fetch): the
 * verdict table, one section per scenario with its charts and short table, then method and machine.
 */
import type { RunResults } from '../harness/results/results.ts'
import { scaleCurve, type ScalePoint } from './scale-curve.ts'
import { hostSpeedLine } from '../harness/measure/host-speed.ts'
import { verdictsWithMargins, type VerdictWithMargin } from './verdict-margins.ts'
import { barChartSpec, curveChartSpec, scenarioCurves, scenarioCharts, toSvg } from './charts.ts'
import { cellLabel, FLAG_MEANING, fmt, MECHANISM_SECTION, mechanismTable, scenarioTable, scenariosIn, type ReportInput } from './model.ts'

/** Metric columns per scenario table in the HTML report. */
export const HTML_METRIC_COLUMNS = 6

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

export const CSS = `
body{font:14px/1.45 Helvetica,Arial,sans-serif;color:#1d1d1d;max-width:1100px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#555;margin:0 0 16px}table{border-collapse:collapse;width:100%;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}table.kv th{width:9em}table.kv td{overflow-wrap:anywhere}
.v{font-weight:bold;padding:2px 6px;border-radius:3px;white-space:nowrap}
.v-supported{background:#d9f2d9}.v-refuted{background:#f8d7d3}.v-depends{background:#fdf0c9}.v-not-measured{background:#e6e6e6}
.fragile{color:#a15c00;font-size:12px;font-weight:bold;margin-top:3px}.margin{color:#555}
.chart{margin:8px 0;overflow-x:auto}.flag{color:#c0392b;font-weight:bold}
ul.values{margin:0;padding-left:16px;color:#444;font-size:12px}code{font-size:12px}
`

function verdictTable(vs: VerdictWithMargin[]): string {
  const rows = vs.map((v) => `<tr data-claim="${esc(v.id)}"${v.margin.fragile ? ' data-fragile="true"' : ''}><td>${esc(v.claim)}<div class="sub"><small>${esc(v.metrics)}</small></div></td>` +
    `<td><span class="v v-${v.verdict.replace(/ /g, '-')}">${esc(v.verdict)}</span>${v.margin.fragile ? '<div class="fragile">fragile</div>' : ''}</td><td>${esc(v.condition)}` +
    (v.margin.text ? `<div class="margin"><small>${esc(v.margin.text)}</small></div>` : '') +
    (v.values.length ? `<ul class="values">${v.values.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : '') +
    `<div><small>Rule: ${esc(v.rule)}</small></div></td></tr>`)
  return `<table id="verdicts"><thead><tr><th>claim of the article</th><th>verdict</th><th>measured, and why</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

/** A table; its last column holds flags (shown as such) unless `flags` is false. */
export function table(header: string[], rows: string[][], flags = true): string {
  const isNum = (s: string) => /^[-–+]?[\d,.]+( ±[\d.,]+%)?$|^–$/.test(s)
  return `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c, i) => `<td${i > 0 && isNum(c) ? ' class="num"' : ''}${flags && i === r.length - 1 && c ? ' class="flag"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('') +
    '</tbody></table>'
}

export async function renderHtml(input: ReportInput): Promise<string> {
  const r = input.results
  const parts: string[] = []
  parts.push(`<h1>authbench report</h1><p class="sub">Run <code>${esc(r.gitSha?.slice(0, 7) ?? 'no git')}</code> · started ${esc(r.startedAt)} · status <b>${esc(r.status)}</b> · ${esc(r.machine.cpuModel)}, ${r.machine.cores} cores · Node ${esc(r.machine.node)}</p>`)
  parts.push('<h2 id="claims">The article\'s claims, tested</h2>', verdictTable(verdictsWithMargins(r)))
  for (const scenario of scenariosIn(input)) {
    parts.push(`<section class="scenario" data-scenario="${esc(scenario.name)}"><h2 id="${esc(scenario.name)}">${esc(scenario.name)}</h2><p>${esc(scenario.description)}</p>`)
    for (const chart of scenarioCharts(input, scenario)) {
      if (chart.bars.length === 0) continue
      parts.push(`<div class="chart">${await toSvg(barChartSpec(chart))}</div>`)
    }
    for (const curve of scenarioCurves(input, scenario)) {
      if (curve.points.length === 0) continue
      parts.push(`<div class="chart">${await toSvg(curveChartSpec(curve))}</div>`)
    }
    const t = scenarioTable(input, scenario, HTML_METRIC_COLUMNS)
    parts.push(table(t.header, t.rows), t.notes.length ? `<ul>${t.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '', '</section>')
  }
  parts.push(await scaleSection(r))
  const mech = mechanismTable(input)
  if (mech.rows.length || mech.notes.length) {
    parts.push(`<section data-section="mechanisms"><h2 id="mechanisms">${esc(MECHANISM_SECTION)}</h2>`, mech.rows.length ? table(mech.header, mech.rows, false) : '', `<ul>${mech.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>`)
  }
  parts.push(methodSection(input))
  parts.push('<p>Data beside this file: <a href="results.json">results.json</a> · <a href="results.csv">results.csv</a> · <a href="report.md">report.md</a></p>')
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>authbench report ${esc(r.startedAt)}</title><style>${CSS}</style></head><body>${parts.join('\n')}</body></html>\n`
}

function methodSection(input: ReportInput): string {
  const r = input.results
  const kv = (rows: Array<[string, string]>) => `<table class="kv">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`
  const skipped = r.cells.filter((c) => c.state === 'skipped' || c.state === 'failed' || c.state === 'partial')
  const warnings = [...r.warnings, ...r.cells.flatMap((c) => c.warnings.map((w) => `${c.id}: ${w}`))]
  return [
    '<h2 id="method">Method and machine</h2>',
    [
      '<p>Server CPU per request comes from the servers\' own accounting (<code>process.cpuUsage</code>, read over IPC, or in target mode over each server\'s stats endpoint), bytes from their sockets, Redis work from <code>INFO</code> deltas.',
      '<code>/me</code> and <code>/health</code> are measured in alternating windows on the same instance;',
      'a throughput CI is Yuen\'s 95 % interval over the repeats (the 20 %-trimmed mean of the per-repeat medians, Student\'s t: the repeats, minutes apart, are the independent units, the pairs inside one only seconds apart;',
      'a later repeat first warms its idle server until its CPU per request stops falling;',
      'the host\'s own speed is timed before each level\'s windows and after the last, a syscall loop and an integer loop in a server and in the harness, and the run warns when it slowed), every other CI is the distribution-free 95 % interval of the median.',
      'Latency is closed-loop: it includes queueing at the server and is subject to coordinated omission; an open-model (fixed arrival rate) latency would need a rate-driven generator.',
      'Compare ratios and per-request costs: absolute requests/s on a shared machine is weather.</p>',
    ].join(' '),
    kv([
      ['command', `npm run bench -- ${r.command.join(' ')}`],
      ['machine', `${r.machine.cpuModel} · ${r.machine.cores} cores · ${(r.machine.memoryBytes / 2 ** 30).toFixed(0)} GiB · ${r.machine.os}`],
      ['CPU placement', r.placement.note],
      ...runOrigin(r),
      ...(r.hostSpeed ? [['host speed', hostSpeedLine(r.hostSpeed)] as [string, string]] : []),
      ['Redis', `${r.redis.source}${r.redis.version ? ` ${r.redis.version}` : ''}${r.redis.note ? ` — ${r.redis.note}` : ''}`],
      ['balancer', `${r.balancer.kind}${r.balancer.version ? ` ${r.balancer.version}` : ''}`],
      ['options', Object.entries(r.options).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ')],
      ['packages', Object.entries(r.packages).map(([k, v]) => `${k} ${v}`).join(', ')],
      ['started / finished', `${r.startedAt} / ${r.finishedAt ?? '–'}`],
    ]),
    '<h3>Warnings and flags</h3>',
    `<p>Flags: ${Object.entries(FLAG_MEANING).map(([f, m]) => `<b>${esc(f)}</b> — ${esc(m)}`).join('; ')}.</p>`,
    warnings.length ? `<ul>${warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : '<p>None.</p>',
    '<h3>Cells not measured in full</h3>',
    skipped.length
      ? `<ul>${skipped.map((c) => `<li><code>${esc(c.id)}</code> (${esc(cellLabel(c))}): ${esc(c.state)} — ${esc(c.state === 'failed' ? c.error : c.reason)}</li>`).join('')}</ul>`
      : '<p>None: every planned cell completed.</p>',
  ].join('\n')
}

/** Where the run's servers and load came from, when not from this harness alone: target mode, merged shards. */
function runOrigin(r: RunResults): Array<[string, string]> {
  const targets = (r.options.targets ?? []) as string[]
  const stats = (r.options.targetStats ?? []) as string[]
  return [
    ...(targets.length ? [['target mode', `servers started elsewhere: load to ${targets.join(', ')}; their own stats from ${stats.length ? stats.join(', ') : 'nowhere (server-side figures not measured)'}`] as [string, string]] : []),
    ...(r.merged ? [['merged', `${r.merged.shards} load-generator shards (${r.merged.from.join(', ')}); a window's last shard started up to ${r.merged.maxWindowStartSkewMs.toFixed(1)} ms after its first`] as [string, string]] : []),
  ]
}

/** The scale-out curve, where the run swept instance counts: requests/s and efficiency against instances, one line per strategy, Redis beside them. */
async function scaleSection(r: RunResults): Promise<string> {
  const curves = [...new Set(r.cells.map((c) => c.strategy))].map((s) => ({ s, points: scaleCurve(r, s) })).filter((c) => c.points.length > 0)
  if (curves.length === 0) return ''
  const xTitle = 'server instances (each on a core of its own)'
  const line = (value: (p: ScalePoint) => number | null) => curves.flatMap(({ s, points }) => points.flatMap((p) => {
    const v = value(p)
    return v === null ? [] : [{ series: s, x: p.instances, value: v, lo: null, hi: null }]
  }))
  const charts = [
    curveChartSpec({ title: 'Aggregate /me requests/s against instances', xTitle, yTitle: 'requests/s', points: line((p) => p.requestsPerSec) }),
    curveChartSpec({ title: 'Scaling efficiency: throughput at N ÷ (N × throughput at 1)', xTitle, yTitle: 'efficiency', points: line((p) => p.efficiency), rule: { y: 1, label: 'linear' } }),
  ]
  const rows = curves.flatMap(({ s, points }) => points.map((p) => [s, String(p.instances), fmt(p.requestsPerSec), p.efficiency === null ? '–' : fmt(p.efficiency), p.redisCoreShare === null ? '–' : `${fmt(p.redisCoreShare * 100)} %`, p.serverSaturated ? 'yes' : 'no']))
  const svgs = await Promise.all(charts.map((c) => toSvg(c)))
  return `<section data-section="scale-out-curve"><h2 id="scale-out-curve">Scale-out curve</h2>${svgs.map((x) => `<div class="chart">${x}</div>`).join('')}${table(['strategy', 'instances', 'requests/s', 'efficiency', 'Redis (share of a core)', 'servers saturated'], rows, false)}</section>`
}
