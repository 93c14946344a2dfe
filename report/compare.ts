/**
 * Comparing two runs: for every cell present in both, the change of each headline metric with a
 * significance test over independent units — the per-repeat values, never the windows inside a
 * repeat (treating per-window samples as independent makes nearly everything "significant") — the
 * false discovery rate controlled across the comparison, and each metric's minimum detectable effect
 * (report/significance.ts). A pure function of two results objects.
 */
import { median } from 'simple-statistics'
import { summarizeHostSpeed } from '../harness/measure/host-speed.ts'
import type { Cell, HostSpeedSummary, RepeatResult, RunResults } from '../harness/results/results.ts'
import type { MetricDecl, Scenario } from '../harness/run/scenario.ts'
import { cellLabel, declFor, isMeasured, metricHeader, type MeasuredCell } from './model.ts'
import { benjaminiHochberg, changeCi95, changeP, FDR_Q, minimumDetectableEffect, pairedChange, type TestName } from './significance.ts'

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

/**
 * Units of figures timed by the host (CPU time, rates, latencies, durations): across separate runs they
 * move with the host's speed as much as with the code. They form a family of their own for the false
 * discovery rate, and a significant change in one is called the code's only where both runs'
 * host-speed probes agree. Ratios measured within a run, bytes, counts and shares are the other family.
 */
export const HOST_TIMED_UNITS: ReadonlySet<string> = new Set(['µs/req', 'µs/login', 'µs/cmd', 'req/s', 'logins/s', 'cmd/s', 'MB/s', 'ms', 's'])

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
  /** (candidate − baseline) / |baseline| of the medians; null when the baseline is 0. */
  changeRel: number | null
  /** 95 % CI of the relative change, from the test's interval of the difference in means (report/significance.ts changeCi95). */
  changeCi95: [number, number] | null
  nBaseline: number
  nCandidate: number
  /** The test over per-repeat values (report/significance.ts): Welch's on their logarithms where all are positive. */
  test: TestName
  /** Its two-sided p-value; null when a side has fewer than 2 repeats. */
  p: number | null
  /** Benjamini–Hochberg adjusted p over the metrics of its family in this comparison. */
  q: number | null
  /** Smallest relative change this metric would show with 80 % power at the level a single discovery needs (FDR_Q ÷ family size); null below 2 repeats a side. */
  mdeRel: number | null
  /** A host-timed figure (HOST_TIMED_UNITS): compared in a family of its own. */
  hostTimed: boolean
  /** q < FDR_Q and the medians differ. */
  significant: boolean
  /** A significant change of a host-timed figure while the two runs' host-speed probes do not agree (or are missing): the host's, as much as the code's. */
  hostWeather: boolean
  /** Significant, in the worse direction, and not host weather. */
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

/** The headline metric names a cell carries (`*` declarations expanded to what the cell has). */
function headlineNames(cell: Cell, scenario: Scenario): string[] {
  if (!isMeasured(cell)) return []
  const s = cell.summary!
  const present = s.kind === 'metrics' ? Object.keys(s.metrics) : scenario.metrics.map((d) => d.name)
  return scenario.metrics.filter((d) => d.headline).flatMap((d) =>
    d.name.endsWith('*') ? present.filter((n) => declFor(scenario, n)?.decl === d).sort() : present.includes(d.name) ? [d.name] : [])
}

/** A cell's per-block log ratios (b ÷ a) of a metric, grouped by repeat; null where the metric has none. */
export type PairedBlocks = (cellId: string, metric: string) => number[][] | null

/**
 * `paired`: the two runs are the two sides of one A/B run (report/ab.ts), measured in the same repeats,
 * their windows alternating: each metric is tested on its per-block ratios b ÷ a as ABBA sets
 * (report/significance.ts pairedChange), which `paired` gives.
 */
export function compareRuns(baseline: RunResults, candidate: RunResults, scenarios: readonly Scenario[], opts: { paired?: PairedBlocks } = {}): Comparison {
  const byName = new Map(scenarios.map((s) => [s.name, s]))
  const warnings = runWarnings(baseline, candidate)
  const base = new Map(baseline.cells.filter(isMeasured).map((c) => [c.id, c]))
  const cand = new Map(candidate.cells.filter(isMeasured).map((c) => [c.id, c]))
  const changes: RawChange[] = []
  for (const [id, c1] of cand) {
    const c0 = base.get(id)
    const scenario = byName.get(c1.scenario)
    if (!c0 || !scenario) continue
    const level = comparedLevel(c0, c1)
    if (level.warning) warnings.push(level.warning)
    if (!level.comparable) continue
    for (const metric of headlineNames(c1, scenario)) {
      const change = metricChange(c0, c1, scenario, metric, level.connections ?? null, opts.paired?.(c1.id, metric) ?? null)
      if (change) changes.push(change)
    }
  }
  // the two sides of one A/B run met the same host, window by window
  const hostsAgree = opts.paired !== undefined || hostSpeedsAgree(baseline, candidate)
  return {
    warnings,
    // each family corrected on its own; the changes in the order the cells and metrics came
    changes: [true, false].flatMap((timed) => adjust(changes.filter((c) => c.change.hostTimed === timed), hostsAgree))
      .sort((x, y) => changes.indexOf(x.raw) - changes.indexOf(y.raw)).map((x) => x.change),
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

/** Both runs have host-speed probes, and they read the same host speed, without slow phases. */
function hostSpeedsAgree(baseline: RunResults, candidate: RunResults): boolean {
  const [a, b] = [summarizeHostSpeed(baseline.cells), summarizeHostSpeed(candidate.cells)]
  return a !== null && b !== null && hostSpeedDifference(a, b) === null
}

/** A metric's values in both runs, before the family's correction. */
interface RawChange { change: Omit<MetricChange, 'q' | 'mdeRel' | 'significant' | 'hostWeather' | 'worse'>; a: number[]; b: number[]; blocks: number[][] | null }

/** One family's changes with their q-values, MDEs and verdicts. */
function adjust(family: readonly RawChange[], hostsAgree: boolean): Array<{ raw: RawChange; change: MetricChange }> {
  const qs = benjaminiHochberg(family.map((x) => x.change.p))
  const alpha = FDR_Q / Math.max(1, family.length)
  return family.map((raw, k) => {
    const c = raw.change
    const q = qs[k] ?? null
    const significant = q !== null && q < FDR_Q && c.baseline !== c.candidate
    const up = c.candidate > c.baseline
    const hostWeather = significant && c.hostTimed && !hostsAgree
    const worse = significant && !hostWeather && ((c.better === 'lower' && up) || (c.better === 'higher' && !up))
    const mdeRel = raw.blocks ? pairedChange(raw.blocks, alpha).mde : minimumDetectableEffect(raw.a, raw.b, alpha)
    return { raw, change: { ...c, q, mdeRel, significant, hostWeather, worse } }
  })
}

/**
 * One metric of one cell in both runs: medians over repeats and the test's p; null where either run
 * lacks it. With `blocks` (an A/B run), the change, its CI and p are the paired test's.
 */
function metricChange(c0: MeasuredCell, c1: MeasuredCell, scenario: Scenario, metric: string, at: number | null, blocks: number[][] | null): RawChange | null {
  const a = perRepeat(c0.repeats, metric, at)
  const b = perRepeat(c1.repeats, metric, at)
  if (a.length === 0 || b.length === 0) return null
  const decl = declFor(scenario, metric)!.decl
  const [x0, x1] = [median(a), median(b)]
  const pc = blocks ? pairedChange(blocks, FDR_Q) : null
  const { test, p } = pc ? { test: 'paired-log' as const, p: pc.p } : changeP(a, b)
  const medians = x0 === 0 ? null : (x1 - x0) / Math.abs(x0)
  return {
    a, b, blocks,
    change: {
      cellId: c1.id, cellLabel: cellLabel(c1), scenario: c1.scenario, metric, label: metricHeader(scenario, metric), unit: decl.unit, better: decl.better,
      baseline: x0, candidate: x1, changeRel: pc ? pc.change : medians, changeCi95: pc ? pc.ci95 : changeCi95(a, b),
      nBaseline: a.length, nCandidate: b.length, test, p, hostTimed: HOST_TIMED_UNITS.has(decl.unit),
    },
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

/** Changes significantly worse by more than `percent` %. */
export function regressions(c: Comparison, percent: number): MetricChange[] {
  return c.changes.filter((x) => x.worse && (x.changeRel === null || Math.abs(x.changeRel) * 100 > percent))
}
