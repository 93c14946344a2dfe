/**
 * Comparing two runs: for every cell present in both, the change of each headline metric with a
 * significance test over independent units — the per-repeat values, never the windows inside a
 * repeat (treating per-window samples as independent makes nearly everything "significant").
 * A pure function of two results objects.
 */
import jstat from 'jstat'
import { median } from 'simple-statistics'
import { summarizeHostSpeed } from '../harness/measure/host-speed.ts'
import type { Cell, HostSpeedSummary, RepeatResult, RunResults } from '../harness/results/results.ts'
import type { MetricDecl, Scenario } from '../harness/run/scenario.ts'
import { cellLabel, declFor, fmt, isMeasured, metricHeader, type MeasuredCell } from './model.ts'

/** Two runs whose host-speed probes (median, servers' core) differ by more than this ran on a different host. */
export const HOST_SPEED_DIFFERENCE_REL = 0.15

/**
 * Pure: a warning when the two runs' hosts ran at different speeds (their servers' cores' median syscall-loop reading
 * differs by more than HOST_SPEED_DIFFERENCE_REL), or either host had slow phases; null when neither,
 * or a run has no probes.
 */
export function hostSpeedDifference(base: HostSpeedSummary | null, cand: HostSpeedSummary | null): string | null {
  if (!base || !cand) return null
  const [a, b] = [base.serverCore.syscallLoop.medianMicros, cand.serverCore.syscallLoop.medianMicros]
  const parts: string[] = []
  if (Math.abs(b / a - 1) > HOST_SPEED_DIFFERENCE_REL) parts.push(`the host-speed syscall loop on the servers' core took a median of ${(a / 1000).toFixed(2)} ms in the baseline and ${(b / 1000).toFixed(2)} ms in the candidate (${(b / a).toFixed(2)}×): CPU per request and requests/s moved with the host, not only with the code`)
  const slow = ([['baseline', base], ['candidate', cand]] as const).filter(([, h]) => h.slowRepeats > 0).map(([n, h]) => `the ${n}'s in ${h.slowRepeats} of ${h.repeats} throughput repeats`)
  if (slow.length) parts.push(`the host ran slow (its syscall loop ≥ ${base.slowFactor}× its fastest) under ${slow.join(' and ')}: ratios read in slow phases shift (see each run's warnings)`)
  return parts.length ? `host speed: ${parts.join('; ')}` : null
}

/** Two-sided significance level of the Welch t-test. */
export const SIGNIFICANCE_P = 0.05

export interface MetricChange {
  cellId: string
  cellLabel: string
  scenario: string
  metric: string
  /** Human header with the unit, e.g. `credential small (B/req)`. */
  label: string
  unit: string
  better: MetricDecl['better']
  baseline: number
  candidate: number
  /** (candidate − baseline) / |baseline|; null when the baseline is 0. */
  changeRel: number | null
  nBaseline: number
  nCandidate: number
  /** Welch's t-test over per-repeat values; null when a side has fewer than 2 repeats or no variance at all. */
  p: number | null
  significant: boolean
  /** Significant and in the worse direction. */
  worse: boolean
}

/** One throughput level of a cell measured in both runs: is each run's CPU-ratio median inside the other's 95 % CI? */
export interface RatioAgreement {
  cellId: string
  cellLabel: string
  /** Concurrency level; null for results from before the sweep (one unnamed level). */
  connections: number | null
  headline: boolean
  baseline: { median: number; ci95: [number, number] }
  candidate: { median: number; ci95: [number, number] }
  /** Each median inside the other run's 95 % CI. */
  agree: boolean
}

/**
 * Share of ratios on which two runs of the same code agree (each median inside the other's CI) when
 * both intervals are calibrated 95 % intervals of equal width: the two medians differ by √2 times one
 * run's spread, so P(|Z| < 1.96 / √2) ≈ 0.834. Narrower or unequal intervals agree less often; so do
 * 21 ratios all at once: 0.834²¹ ≈ 2 %.
 */
export const EXPECTED_AGREEMENT_SAME_CODE = 0.834

export interface Comparison {
  warnings: string[]
  changes: MetricChange[]
  /** Every throughput level of every cell both runs measured, summarised afresh from the repeats by the current method. */
  ratioAgreement: RatioAgreement[]
  /** Cells only one of the runs measured. */
  onlyInBaseline: string[]
  onlyInCandidate: string[]
}

/** One value per repeat of a cell for a metric (throughput: the repeat's median over its pairs). */
export function perRepeat(repeats: readonly RepeatResult[], metric: string, headlineConnections: number | null = null): number[] {
  const out: number[] = []
  for (const r of repeats) {
    if (r.kind === 'metrics') {
      const v = r.metrics[metric]
      if (typeof v === 'number' && Number.isFinite(v)) out.push(v)
      continue
    }
    // the cell's headline level in every repeat (a repeat's own `pairs` may come from another level)
    const pairs = r.levels?.find((l) => l.connections === headlineConnections)?.pairs ?? r.pairs
    const values = pairs.map((p) => {
      switch (metric) {
        case 'cpuRatio': return p.cpuRatio
        case 'meCpuMicrosPerRequest': return p.me.serverCpuMicrosPerRequest
        case 'healthCpuMicrosPerRequest': return p.health.serverCpuMicrosPerRequest
        case 'meRequestsPerSec': return p.me.requestsPerSec
        case 'meLatencyP50Ms': return p.me.latencyMs.p50
        case 'meLatencyP99Ms': return p.me.latencyMs.p99
        case 'redisCommandsPerRequest': return p.me.redisCommandsPerRequest
        case 'redisCpuMicrosPerRequest': return p.me.redisCpuMicrosPerRequest
        default: return null
      }
    }).filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
    if (values.length > 0) out.push(median(values))
  }
  return out
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const variance = (xs: readonly number[]) => { const m = mean(xs); return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1) }

/** Two-sided p-value of Welch's unequal-variance t-test; null when it cannot be computed. */
export function welchP(a: readonly number[], b: readonly number[]): number | null {
  if (a.length < 2 || b.length < 2) return null
  const va = variance(a) / a.length
  const vb = variance(b) / b.length
  const diff = mean(b) - mean(a)
  if (va + vb === 0) return diff === 0 ? 1 : 0 // no noise at all: any difference is real, none is none
  const t = diff / Math.sqrt(va + vb)
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1))
  return 2 * (1 - jstat.studentt.cdf(Math.abs(t), df))
}

/** The headline metric names a cell carries (`*` declarations expanded to what the cell has). */
function headlineNames(cell: Cell, scenario: Scenario): string[] {
  if (!isMeasured(cell)) return []
  const s = cell.summary!
  const present = s.kind === 'metrics' ? Object.keys(s.metrics) : scenario.metrics.map((d) => d.name)
  return scenario.metrics.filter((d) => d.headline).flatMap((d) =>
    d.name.endsWith('*') ? present.filter((n) => declFor(scenario, n)?.decl === d).sort() : present.includes(d.name) ? [d.name] : [])
}

export function compareRuns(baseline: RunResults, candidate: RunResults, scenarios: readonly Scenario[]): Comparison {
  const byName = new Map(scenarios.map((s) => [s.name, s]))
  const warnings = runWarnings(baseline, candidate)
  const base = new Map(baseline.cells.filter(isMeasured).map((c) => [c.id, c]))
  const cand = new Map(candidate.cells.filter(isMeasured).map((c) => [c.id, c]))
  const changes: MetricChange[] = []
  for (const [id, c1] of cand) {
    const c0 = base.get(id)
    const scenario = byName.get(c1.scenario)
    if (!c0 || !scenario) continue
    const level = comparedLevel(c0, c1)
    if (level.warning) warnings.push(level.warning)
    if (!level.comparable) continue
    for (const metric of headlineNames(c1, scenario)) {
      const change = metricChange(c0, c1, scenario, metric, level.connections ?? null)
      if (change) changes.push(change)
    }
  }
  return {
    warnings,
    changes,
    ratioAgreement: ratioAgreement(base, cand, byName),
    onlyInBaseline: [...base.keys()].filter((k) => !cand.has(k)),
    onlyInCandidate: [...cand.keys()].filter((k) => !base.has(k)),
  }
}

/** What makes two runs hard to compare: machines, Node, packages, an unfinished run, the host's speed. */
function runWarnings(baseline: RunResults, candidate: RunResults): string[] {
  const warnings: string[] = []
  const m0 = baseline.machine
  const m1 = candidate.machine
  if (m0.hostname !== m1.hostname || m0.cpuModel !== m1.cpuModel || m0.cores !== m1.cores) {
    warnings.push(`different machines: ${m0.hostname} (${m0.cpuModel}, ${m0.cores} cores) vs ${m1.hostname} (${m1.cpuModel}, ${m1.cores} cores)`)
  }
  if (m0.node !== m1.node) warnings.push(`different Node versions: ${m0.node} vs ${m1.node}`)
  const pkgs = [...new Set([...Object.keys(baseline.packages), ...Object.keys(candidate.packages)])].sort()
  const changed = pkgs.filter((p) => baseline.packages[p] !== candidate.packages[p])
  if (changed.length) warnings.push(`different package versions: ${changed.map((p) => `${p} ${baseline.packages[p] ?? '–'} → ${candidate.packages[p] ?? '–'}`).join(', ')}`)
  for (const [name, r] of [['baseline', baseline], ['candidate', candidate]] as const) {
    if (r.status !== 'complete') warnings.push(`the ${name} run is ${r.status}`)
  }
  const hostSpeed = hostSpeedDifference(summarizeHostSpeed(baseline.cells), summarizeHostSpeed(candidate.cells))
  if (hostSpeed) warnings.push(hostSpeed)
  return warnings
}

/**
 * The concurrency both runs are compared at: the candidate's headline level, also where the
 * baseline's differs (null or absent: a cell without levels, or results from before levels).
 */
function comparedLevel(c0: MeasuredCell, c1: MeasuredCell): { comparable: boolean; connections?: number | null; warning?: string } {
  const level = (c: MeasuredCell) => (c.summary?.kind === 'throughput' ? c.summary.headlineConnections : null)
  const at = level(c1)
  if (at === null || level(c0) === at) return { comparable: true, connections: at }
  const has = c0.repeats.some((r) => r.kind === 'throughput' && r.levels.some((l) => l.connections === at))
  if (!has) return { comparable: false, warning: `${c1.id}: not compared — its headline level is ${at} connections in the candidate and ${level(c0)} in the baseline, which did not measure ${at}` }
  return { comparable: true, connections: at, warning: `${c1.id}: the headline levels differ (baseline ${level(c0)} connections, candidate ${at}): both compared at ${at} connections` }
}

/** One metric of one cell in both runs: medians over repeats and Welch's t-test; null where either run lacks it. */
function metricChange(c0: MeasuredCell, c1: MeasuredCell, scenario: Scenario, metric: string, at: number | null): MetricChange | null {
  const a = perRepeat(c0.repeats, metric, at)
  const b = perRepeat(c1.repeats, metric, at)
  if (a.length === 0 || b.length === 0) return null
  const decl = declFor(scenario, metric)!.decl
  const [x0, x1] = [median(a), median(b)]
  const p = welchP(a, b)
  const significant = p !== null && p < SIGNIFICANCE_P && x0 !== x1
  const up = x1 > x0
  const worse = significant && ((decl.better === 'lower' && up) || (decl.better === 'higher' && !up))
  return {
    cellId: c1.id, cellLabel: cellLabel(c1), scenario: c1.scenario, metric, label: metricHeader(scenario, metric), unit: decl.unit, better: decl.better,
    baseline: x0, candidate: x1, changeRel: x0 === 0 ? null : (x1 - x0) / Math.abs(x0),
    nBaseline: a.length, nCandidate: b.length, p, significant, worse,
  }
}

/**
 * The CPU ratio of every throughput level in both runs, each summarised afresh from its repeats (so
 * that both runs' intervals come from the same method, whatever version wrote them).
 */
function ratioAgreement(base: ReadonlyMap<string, Cell>, cand: ReadonlyMap<string, Cell>, scenarios: ReadonlyMap<string, Scenario>): RatioAgreement[] {
  const out: RatioAgreement[] = []
  for (const [id, c1] of cand) {
    const c0 = base.get(id)
    const scenario = scenarios.get(c1.scenario)
    if (!c0 || !scenario || !isMeasured(c0) || !isMeasured(c1)) continue
    const [s0, s1] = [scenario.summarize(c0.repeats), scenario.summarize(c1.repeats)]
    if (s0.kind !== 'throughput' || s1.kind !== 'throughput') continue
    const levels = (s: typeof s0) => (s.levels.length ? s.levels : [{ connections: null, cpuRatio: s.cpuRatio }])
    for (const l1 of levels(s1)) {
      const l0 = levels(s0).find((l) => l.connections === l1.connections)
      const [a, b] = [l0?.cpuRatio, l1.cpuRatio]
      if (!a?.ci95 || !b?.ci95) continue
      const inside = (x: number, ci: [number, number]) => x >= ci[0] && x <= ci[1]
      out.push({
        cellId: id, cellLabel: cellLabel(c1), connections: l1.connections, headline: l1.connections === s1.headlineConnections,
        baseline: { median: a.median, ci95: a.ci95 }, candidate: { median: b.median, ci95: b.ci95 },
        agree: inside(a.median, b.ci95) && inside(b.median, a.ci95),
      })
    }
  }
  return out
}

/**
 * The ratio agreement in a few lines of at most `width` columns: how many, against what two runs of the
 * same code would give, and which not. Empty without throughput cells measured in both runs.
 */
export function agreementLines(c: Comparison, width = 120): string[] {
  const all = c.ratioAgreement
  if (all.length === 0) return []
  const head = all.filter((a) => a.headline)
  const lines = [
    `throughput CPU ratios, every level: ${all.filter((a) => a.agree).length} of ${all.length} medians inside each other's 95 % CI` +
      (head.length ? ` (headline: ${head.filter((a) => a.agree).length} of ${head.length})` : ''),
    `(two runs of the same code with calibrated intervals: about ${Math.round(EXPECTED_AGREEMENT_SAME_CODE * 100)} % of ratios)`,
  ]
  const off = all.filter((a) => !a.agree).map((a) => `${a.cellLabel}${a.connections === null ? '' : ` @${a.connections}`} ${fmt(a.baseline.median)} → ${fmt(a.candidate.median)}`)
  let line = 'not inside:'
  for (const item of off) {
    if (line.length + item.length + 2 > width) { lines.push(line + ','); line = ' ' }
    line += `${line.endsWith(':') || line === ' ' ? ' ' : ', '}${item}`
  }
  if (off.length) lines.push(line)
  return lines
}

/** Changes significantly worse by more than `percent` %. */
export function regressions(c: Comparison, percent: number): MetricChange[] {
  return c.changes.filter((x) => x.worse && (x.changeRel === null || Math.abs(x.changeRel) * 100 > percent))
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${x >= 0 ? '+' : ''}${fmt(x * 100)} %`)

/** One row per metric change, for the terminal and for compare.md. */
export function changeRows(c: Comparison): string[][] {
  return c.changes.map((x) => [
    x.cellLabel, x.scenario, x.label, fmt(x.baseline), fmt(x.candidate), pct(x.changeRel),
    x.p === null ? `n=${x.nBaseline}/${x.nCandidate}: too few repeats` : `p=${x.p < 0.001 ? '<0.001' : fmt(x.p)}`,
    x.worse ? 'WORSE' : x.significant ? 'better' : 'no sig. change',
  ])
}
export const CHANGE_HEADER = ['cell', 'scenario', 'metric', 'baseline', 'candidate', 'change', 'test (repeats)', 'verdict']

export function renderCompareMarkdown(c: Comparison, baselineDir: string, candidateDir: string): string {
  const row = (cells: string[]) => `| ${cells.map((s) => s.replace(/\|/g, '\\|')).join(' | ')} |`
  return [
    '# authbench compare', '',
    `Baseline \`${baselineDir}\` → candidate \`${candidateDir}\`. Welch's t-test over per-repeat values (α = ${SIGNIFICANCE_P}); windows inside a repeat are not independent and are not used as samples.`, '',
    ...c.warnings.map((w) => `> **Warning:** ${w}`), c.warnings.length ? '' : '',
    row(CHANGE_HEADER), row(CHANGE_HEADER.map(() => '---')), ...changeRows(c).map(row), '',
    ...(agreementLines(c).length ? [agreementLines(c).join('<br>'), ''] : []),
    ...(c.onlyInBaseline.length ? [`Only in the baseline: ${c.onlyInBaseline.map((x) => `\`${x}\``).join(', ')}`, ''] : []),
    ...(c.onlyInCandidate.length ? [`Only in the candidate: ${c.onlyInCandidate.map((x) => `\`${x}\``).join(', ')}`, ''] : []),
  ].join('\n')
}
