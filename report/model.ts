/**
 * Reading results.json: which metric a name is, its value in a cell, how a cell is labelled and
 * flagged. Pure functions of the results and the scenarios' metric declarations; nothing here measures.
 */
import type { Cell, RunResults } from '../harness/results/results.ts'
import type { Estimate } from '../harness/measure/stats.ts'
import type { MetricDecl, Scenario } from '../harness/run/scenario.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import type { StrategyName } from '../servers/config.ts'
import { MECHANISM } from '../harness/measure/mechanism-names.ts'
import { layoutOf } from '../scenarios/scale-out.ts'
import { CI_TARGET_REL } from '../harness/measure/stats.ts'
import { GENERATOR_SATURATION_SHARE } from '../harness/measure/probes.ts'

export type MeasuredCell = Extract<Cell, { state: 'completed' | 'partial' }>

/** What every renderer reads: one run and the scenarios that declare its metrics. */
export interface ReportInput {
  results: RunResults
  scenarios: readonly Scenario[]
}

/** Flags that change how a value may be read; shown next to the value they affect. */
export type CellFlag = 'partial' | 'gen-saturated' | 'high-var' | 'non-2xx' | 'invariant'

/** What each flag means, for legends. */
export const FLAG_MEANING: Record<CellFlag, string> = {
  partial: 'not every repeat finished',
  'gen-saturated': `the load generator used ≥ ${GENERATOR_SATURATION_SHARE * 100} % of its core: requests/s is its ceiling, not the server's`,
  'high-var': `the CPU-ratio 95 % CI is wider than ±${CI_TARGET_REL * 100} % of the median`,
  'non-2xx': 'some measured requests failed',
  invariant: 'a value broke an invariant (e.g. a 5xx under hostile input)',
}

/** A cell's CPU-ratio CI wider than this (relative half-width) is flagged high-variance. */
/** A cell is flagged high-var past the CI target the harness aims at. */
export const HIGH_VARIANCE_REL = CI_TARGET_REL

export function isMeasured(cell: Cell): cell is MeasuredCell {
  return (cell.state === 'completed' || cell.state === 'partial') && cell.summary !== null
}

/** The declaration behind a metric name: exact, or a `prefix*` declaration with the rest as suffix. */
export function declFor(scenario: Scenario | undefined, name: string): { decl: MetricDecl; suffix: string } | null {
  if (!scenario) return null
  for (const decl of scenario.metrics) {
    if (decl.name === name) return { decl, suffix: '' }
    if (decl.name.endsWith('*') && name.startsWith(decl.name.slice(0, -1)) && name.length > decl.name.length - 1) {
      return { decl, suffix: name.slice(decl.name.length - 1) }
    }
  }
  return null
}

/** Every metric name a cell carries, in the order its scenario declares them (undeclared ones last, sorted). */
export function metricNames(cell: MeasuredCell, scenario: Scenario | undefined): string[] {
  const s = cell.summary!
  const present = s.kind === 'metrics'
    ? Object.keys(s.metrics)
    : (scenario?.metrics ?? []).map((d) => d.name).filter((n) => n in s)
  const rank = (n: string) => {
    const i = scenario?.metrics.findIndex((d) => d === declFor(scenario, n)?.decl) ?? -1
    return i === -1 ? Number.MAX_SAFE_INTEGER : i
  }
  return [...present].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true }))
}

/** A metric's estimate in a cell (throughput summaries and metric summaries alike), or null. */
export function metricOf(cell: Cell, name: string): Estimate | null {
  if (!isMeasured(cell)) return null
  const s = cell.summary!
  if (s.kind === 'metrics') return s.metrics[name] ?? null
  const v = (s as unknown as Record<string, unknown>)[name]
  return v !== null && typeof v === 'object' && 'median' in (v as object) ? (v as Estimate) : null
}

/** `jwt tuned HS256`, `memory-session tuned ×2 sticky`: the algorithm only where it matters. */
export function cellLabel(cell: Cell): string {
  const family = STRATEGIES[cell.strategy as keyof typeof STRATEGIES]?.family
  const parts = [cell.strategy, cell.profile]
  if (family === 'jwt' || family === undefined) parts.push(cell.alg)
  if (cell.instances > 1) parts.push(`×${cell.instances}`)
  const layout = layoutOf(cell)
  if (layout) parts.push(layout === 'sticky' ? 'sticky' : 'round robin')
  return parts.join(' ')
}

/** Invariants a cell breaks, as one line each (empty when none). */
export function invariantViolations(cell: Cell, scenario: Scenario | undefined): string[] {
  if (!isMeasured(cell) || !scenario) return []
  const out: string[] = []
  for (const decl of scenario.metrics) {
    if (!decl.invariant) continue
    const e = metricOf(cell, decl.name)
    if (e !== null && e.max > decl.invariant.max) out.push(`${cell.id}: ${decl.label} = ${e.max} (must be ≤ ${decl.invariant.max}: ${decl.invariant.why})`)
  }
  return out
}

export function cellFlags(cell: Cell, scenario: Scenario | undefined): CellFlag[] {
  if (!isMeasured(cell)) return []
  const flags: CellFlag[] = []
  if (cell.state === 'partial') flags.push('partial')
  const s = cell.summary!
  // throughput: by the headline rule's own test (most windows of the headline level), so that a cell
  // whose headline was chosen because the generator had room there is not flagged for a stray window
  const headline = s.kind === 'throughput' ? s.levels.find((l) => l.connections === s.headlineConnections) : undefined
  const saturated = s.kind === 'throughput'
    ? (headline ? headline.generatorSaturated : s.saturatedWindowShare >= 0.5)
    : cell.repeats.some((r) => r.kind === 'metrics' && r.windows.some((w) => w.generatorSaturated))
  if (saturated) flags.push('gen-saturated')
  if (s.kind === 'throughput') {
    if (s.cpuRatio?.ciHalfWidthRel != null && s.cpuRatio.ciHalfWidthRel > HIGH_VARIANCE_REL) flags.push('high-var')
    if (s.non2xx > 0 || s.errors > 0) flags.push('non-2xx')
  }
  if (invariantViolations(cell, scenario).length > 0) flags.push('invariant')
  return flags
}

/** Metrics a flag is about, where it is not about every metric of its cell: it is drawn only on their charts. */
const FLAG_METRICS: Partial<Record<CellFlag, readonly string[]>> = { 'high-var': ['cpuRatio'] }
export const flagConcerns = (flag: CellFlag, metric: string): boolean => FLAG_METRICS[flag]?.includes(metric) ?? true

/** Cells of one scenario in a stable order: as planned (results.json keeps plan order). */
export function cellsOf(results: RunResults, scenario: string): Cell[] {
  return results.cells.filter((c) => c.scenario === scenario)
}

/** Scenarios present in the run, in the order the run lists them. */
export function scenariosIn(input: ReportInput): Scenario[] {
  const names = new Set(input.results.cells.map((c) => c.scenario))
  return input.scenarios.filter((s) => names.has(s.name))
}

/** A number for people: 3 significant digits, thousands separated, no trailing noise. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x)
  if (x === 0) return '0'
  const abs = Math.abs(x)
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
}

/** `2.15 [2.10, 2.21]`, or the median alone without a CI. */
export function fmtEstimate(e: Estimate | null): string {
  if (e === null) return '–'
  return e.ci95 ? `${fmt(e.median)} [${fmt(e.ci95[0])}, ${fmt(e.ci95[1])}]` : fmt(e.median)
}

/** A metric's column header: label and unit, plus the suffix a `*` declaration matched. */
export function metricHeader(scenario: Scenario | undefined, name: string): string {
  const found = declFor(scenario, name)
  if (!found) return name
  const suffix = found.suffix ? ` ${/^\d+$/.test(found.suffix) ? `@${Number(found.suffix).toLocaleString('en-US')}` : found.suffix.toLowerCase()}` : ''
  return `${found.decl.label}${suffix} (${found.decl.unit})`
}

/** Suffixes in reading order: claim sets small → large, then sizes ascending. */
function suffixRank(suffix: string): number {
  const i = ['Small', 'Typical', 'Large'].indexOf(suffix)
  return i !== -1 ? i : /^\d+$/.test(suffix) ? 10 + Number(suffix) : 0
}

/** Metric columns of a scenario's short table: headline metrics first, then the rest, at most `max`. */
export function tableMetrics(scenario: Scenario, cells: readonly Cell[], max: number): string[] {
  const present = new Set(cells.filter(isMeasured).flatMap((c) => metricNames(c, scenario)))
  const expand = (d: MetricDecl) => [...present].filter((n) => declFor(scenario, n)?.decl === d).sort((a, b) => suffixRank(declFor(scenario, a)!.suffix) - suffixRank(declFor(scenario, b)!.suffix) || a.localeCompare(b, 'en', { numeric: true }))
  const ordered = [...scenario.metrics.filter((d) => d.headline), ...scenario.metrics.filter((d) => !d.headline)].flatMap(expand)
  return ordered.slice(0, max)
}

/** A scenario's short table as text cells: label, one column per metric (median ± CI), flags. */
export function scenarioTable(input: ReportInput, scenario: Scenario, maxMetrics: number, opts: { brief?: boolean } = {}): { header: string[]; rows: string[][]; notes: string[]; cellNotes: Array<{ cell: string; text: string }> } {
  const cells = cellsOf(input.results, scenario.name)
  const names = tableMetrics(scenario, cells, maxMetrics)
  const cellNotes: Array<{ cell: string; text: string }> = []
  const rows = cells.map((c) => {
    if (!isMeasured(c)) {
      cellNotes.push({ cell: cellLabel(c), text: `${c.state} — ${c.state === 'failed' ? c.error : c.reason}` })
      return [cellLabel(c), ...names.map(() => '–'), c.state]
    }
    const detail = cellDetail(c, opts.brief)
    if (detail) cellNotes.push({ cell: cellLabel(c), text: detail })
    return [cellLabel(c), ...names.map((n) => fmtWithCi(metricOf(c, n))), cellFlags(c, scenario).join(' ')]
  })
  const notes = cellNotes.map((n) => `${n.cell}: ${n.text}`)
  return { header: ['cell', ...names.map((n) => metricHeader(scenario, n)), 'flags'], rows, notes, cellNotes }
}

/**
 * `2.15 ±3%`: the median and the CI's half-width relative to it, compact for tables; where the
 * half-width exceeds the median itself (a change near 0), the interval instead: `0.04 [−0.1, 0.16]`.
 */
export function fmtWithCi(e: Estimate | null): string {
  if (e === null) return '–'
  if (e.ci95 && e.ciHalfWidthRel !== null && e.ciHalfWidthRel > 1) return `${fmt(e.median)} [${fmt(e.ci95[0])}, ${fmt(e.ci95[1])}]`
  return e.ciHalfWidthRel !== null && e.ciHalfWidthRel > 0 ? `${fmt(e.median)} ±${fmt(e.ciHalfWidthRel * 100)}%` : fmt(e.median)
}

/** Why a headline level was chosen, in a few words (the terminal; the reports give the whole reason). */
const BASIS_BRIEF: Record<string, string> = {
  'server-saturated': 'the server saturated there',
  'generator-unsaturated': 'the highest level the load generator kept up with',
  'generator-saturated': 'the generator saturated at every level',
}

/**
 * What a throughput cell's headline number rests on: the level chosen and why, per-repeat medians,
 * cache regime, cross-check. `brief` (the terminal): the level and why in a few words, no per-repeat list.
 */
export function cellDetail(cell: MeasuredCell, brief = false): string | null {
  const s = cell.summary
  if (s?.kind !== 'throughput') return null
  const parts: string[] = []
  if (s.headlineConnections != null) parts.push(brief ? `headline at ${s.headlineConnections} connection${s.headlineConnections === 1 ? '' : 's'} (${BASIS_BRIEF[s.headlineBasis ?? ''] ?? s.headlineBasis})` : `headline at ${s.headlineReason}`)
  const perRepeat = s.cpuRatioPerRepeat.map((x) => (x === null ? '–' : fmt(x)))
  if (perRepeat.length > 1 && !brief) parts.push(`ratio per repeat ${perRepeat.join(' / ')}`)
  if (s.verifyCacheRegime) parts.push(`JWT verify cache ${s.verifyCacheRegime}`)
  const x = s.crossCheck
  if (x?.state === 'measured') parts.push(`cross-check with ${x.generator} at ${x.connections} connections: ${x.otherCpuRatio ? fmt(x.otherCpuRatio.median) : '–'} vs ${x.primaryCpuRatio === null ? '–' : fmt(x.primaryCpuRatio)}${x.differenceRel === null ? '' : ` (${x.differenceRel >= 0 ? '+' : ''}${fmt(x.differenceRel * 100)} %${x.disagrees ? ', DISAGREES' : ''})`}`)
  else if (x?.state === 'skipped') parts.push(`cross-check skipped: ${x.reason}`)
  return parts.length ? parts.join('; ') : null
}

/**
 * The loops of harness/measure/mechanisms.ts that make up a cell's per-request credential check (summed),
 * and whether the match is only approximate (no loop models that exact path).
 */
export function mechanismsOf(strategy: string, profile: string, alg: string, regime: string | null): { names: string[]; approximate: boolean } {
  const def = STRATEGIES[strategy as StrategyName]
  if (!def) return { names: [], approximate: true }
  if (def.family === 'encrypted-cookie') return { names: [MECHANISM.secureSessionDecrypt], approximate: false }
  if (def.family === 'server-session') {
    const lookup = def.needsRedis ? [MECHANISM.redisGet] : [MECHANISM.sessionIdMapLookup]
    // the libraries sign their ids (cookie-signature): a check before the lookup
    return profile === 'floor' ? { names: lookup, approximate: false } : { names: [MECHANISM.sessionSignedIdCheck, ...(def.needsRedis ? [MECHANISM.redisGet] : [])], approximate: false }
  }
  const hit = regime === 'hit-dominated'
  let verify: string
  let approximate = false
  if (profile === 'defaults') verify = MECHANISM.jwtVerifyUncached(alg)
  else if (alg !== 'HS256') {
    verify = MECHANISM.jwtVerifyUncached(alg)
    approximate = true // the cache loops are HS256 only
  } else if (profile === 'floor') verify = hit ? MECHANISM.jwtTokenKeyedCacheHit : MECHANISM.jwtCacheMiss
  else { verify = hit ? MECHANISM.jwtHashKeyedCacheHit : MECHANISM.jwtVerifyUncached('HS256'); approximate = !hit } // a miss also hashes the token
  const denylist: StrategyName = 'jwt-denylist' // the one JWT strategy that reads Redis on every request
  return { names: [verify, ...(strategy === denylist ? [MECHANISM.redisGet] : [])], approximate }
}

export const MECHANISM_SECTION = 'Mechanism cost: in a loop, and in the server'

/**
 * Beside each throughput cell: its auth overhead in the server — (/me − /health) CPU µs per request at
 * the headline level — and the loop cost of its mechanism on the same core, and how many times the
 * one is the other. Empty when the run measured no mechanisms.
 */
export function mechanismTable(input: ReportInput): { header: string[]; rows: string[][]; notes: string[] } {
  const r = input.results
  const m = r.mechanisms
  const header = ['cell', 'auth overhead in the server (µs/req)', 'mechanism in a loop', 'loop (µs/op)', 'server ÷ loop']
  if (!m) return { header, rows: [], notes: [] }
  if ('error' in m) return { header, rows: [], notes: [`mechanism loops failed: ${m.error}`] }
  const byName = new Map(m.items.map((i) => [i.name, i]))
  const rows: string[][] = []
  for (const c of r.cells) {
    if (!isMeasured(c) || c.summary?.kind !== 'throughput') continue
    const s = c.summary
    const me = s.meCpuMicrosPerRequest?.median
    const health = s.healthCpuMicrosPerRequest?.median
    const overhead = me != null && health != null ? me - health : null
    const { names, approximate } = mechanismsOf(c.strategy, c.profile, c.alg, s.verifyCacheRegime)
    const items = names.map((n) => byName.get(n))
    const loopUs = items.every((i) => i !== undefined) && items.length > 0 ? items.reduce((t, i) => t + i!.nsPerOp / 1000, 0) : null
    rows.push([
      cellLabel(c),
      overhead === null ? '–' : fmt(overhead),
      `${names.join(' + ')}${approximate ? ' (≈)' : ''}`,
      loopUs === null ? '–' : fmt(loopUs),
      overhead !== null && loopUs ? `${fmt(overhead / loopUs)}×` : '–',
    ])
  }
  const notes = [
    `loops: tinybench on core(s) ${m.cpus}, ${m.items.length} mechanisms, each cycling through 2 000 credentials (500 for cache hits); ns per operation with a 95 % CI within that process: ${m.items.map((i) => `${i.name} ${fmt(i.nsPerOp / 1000)} µs ±${fmt(i.ciHalfWidthRel * 100)}%`).join(', ')}`,
    'auth overhead = server CPU per /me request − per /health request at the headline level: everything the auth path adds in the server (plugin hooks, cookie parsing, allocation, the event loop around an await), which a loop of the bare check does not pay',
    ...m.skipped.map((s) => `not measured: ${s.name} — ${s.reason}`),
  ]
  return { header, rows, notes }
}
