/**
 * How far each verdict is from flipping. Every claim rule reads estimates (a cell's median and 95 %
 * CI of a metric); its margin is the smallest shift of one of them — every value of that cell's
 * metric scaled by 1 ± s, its CI with it — that changes the verdict's label, searched over SHIFTS by
 * evaluating the rule again on the shifted run. A verdict a shift of FRAGILE_SHIFT or less would flip
 * is *fragile*: the next run of the same code on a noisy host may read it differently. Only readings
 * the host's noise moves are shifted: host-timed figures and ratios, and other readings whose repeats
 * disagree (bytes, counts and shares are the code's behaviour).
 */
import type { Estimate } from '../harness/measure/stats.ts'
import type { Cell, RunResults } from '../harness/results/results.ts'
import { SCENARIOS } from '../scenarios/index.ts'
import { recordingReads, type ReadKey, type Verdict, type VerdictKind } from './claim-inputs.ts'
import { CLAIM_RULES } from './claims.ts'
import { HOST_TIMED_UNITS } from './compare.ts'
import { cellLabel, declFor, fmt, isMeasured, metricHeader } from './model.ts'

/** Shifts tried, smallest first (relative: 0.05 = every value of one reading 5 % higher, or lower). */
export const SHIFTS = [0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5] as const
/** A verdict that a shift of one reading by this much or less flips is fragile. */
export const FRAGILE_SHIFT = 0.1

export interface VerdictMargin {
  /** The smallest shift found that flips the label (relative, signed); null when none up to the largest of SHIFTS does. */
  shiftRel: number | null
  /** The reading shifted, e.g. `jwt tuned HS256: CPU /me ÷ /health (ratio)`. */
  reading: string | null
  /** The label it flips to. */
  becomes: VerdictKind | null
  fragile: boolean
  /** One sentence for the reports. */
  text: string
}

export type VerdictWithMargin = Verdict & { margin: VerdictMargin }

const scaleEstimate = (e: Estimate, f: number): Estimate => ({
  ...e, median: e.median * f, min: e.min * f, max: e.max * f, ci95: e.ci95 ? [Math.min(e.ci95[0] * f, e.ci95[1] * f), Math.max(e.ci95[0] * f, e.ci95[1] * f)] : null,
})

/** The run with one cell's estimate of one metric scaled by f (the rest shared, not copied). */
function shifted(results: RunResults, key: ReadKey, f: number): RunResults {
  const cells = results.cells.map((c): Cell => {
    if (c.id !== key.cellId || !isMeasured(c)) return c
    const s = c.summary!
    const summary = s.kind === 'metrics'
      ? { ...s, metrics: { ...s.metrics, [key.metric]: scaleEstimate(s.metrics[key.metric]!, f) } }
      : { ...s, [key.metric]: scaleEstimate((s as unknown as Record<string, Estimate>)[key.metric]!, f) }
    return { ...c, summary } as Cell
  })
  return { ...results, cells }
}

function describe(results: RunResults, key: ReadKey): string {
  const cell = results.cells.find((c) => c.id === key.cellId)!
  return `${cellLabel(cell)}: ${metricHeader(SCENARIOS.find((s) => s.name === cell.scenario), key.metric)}`
}

/**
 * Whether the host's noise moves a reading: figures the host times (HOST_TIMED_UNITS) and ratios of
 * them do; bytes, counts, keys and shares are the code's behaviour and move only where its repeats
 * disagree (a share of exactly 1 from one repeat — every copied token accepted — is not "2 % from 0.98").
 */
function noisy(results: RunResults, key: ReadKey): boolean {
  const cell = results.cells.find((c) => c.id === key.cellId)!
  const unit = declFor(SCENARIOS.find((s) => s.name === cell.scenario), key.metric)?.decl.unit ?? ''
  if (HOST_TIMED_UNITS.has(unit) || unit === 'ratio') return true
  const e = isMeasured(cell) ? (cell.summary!.kind === 'metrics' ? cell.summary!.metrics[key.metric] : (cell.summary as unknown as Record<string, Estimate>)[key.metric]) : undefined
  return e != null && e.n >= 2 && e.min !== e.max
}

/** The nearest flip of one rule's verdict, over every estimate it read that noise could move. */
function marginOf(rule: (r: RunResults) => Verdict, results: RunResults, verdict: Verdict, reads: readonly ReadKey[]): VerdictMargin {
  const keys = [...new Map(reads.map((k) => [`${k.cellId}\u0000${k.metric}`, k])).values()].filter((k) => noisy(results, k))
  let best: { s: number; key: ReadKey; becomes: VerdictKind } | null = null
  for (const key of keys) {
    for (const sign of [1, -1]) {
      for (const s of SHIFTS) {
        if (best && s >= Math.abs(best.s)) break
        const label = rule(shifted(results, key, 1 + sign * s)).verdict
        if (label !== verdict.verdict) {
          best = { s: sign * s, key, becomes: label }
          break
        }
      }
    }
  }
  if (verdict.verdict === 'not measured') return { shiftRel: null, reading: null, becomes: null, fragile: false, text: '' }
  if (!best) return { shiftRel: null, reading: null, becomes: null, fragile: false, text: `holds: no single reading shifted by up to ±${SHIFTS.at(-1)! * 100} % changes it` }
  const pct = `${best.s > 0 ? '+' : '−'}${fmt(Math.abs(best.s) * 100)} %`
  const fragile = Math.abs(best.s) <= FRAGILE_SHIFT
  const reading = describe(results, best.key)
  return { shiftRel: best.s, reading, becomes: best.becomes, fragile, text: `${fragile ? 'fragile' : 'margin'}: a ${pct} shift of ${reading} would make it ${best.becomes}` }
}

/** Every verdict with its margin (CLAIM_RULES order). */
export function verdictsWithMargins(results: RunResults): VerdictWithMargin[] {
  return CLAIM_RULES.map((rule) => {
    const { value: verdict, reads } = recordingReads(() => rule(results))
    return { ...verdict, margin: marginOf(rule, results, verdict, reads) }
  })
}

/** A claim whose verdict differs between two runs, with both verdicts and their margins. */
export interface VerdictChange { id: string; claim: string; from: VerdictWithMargin; to: VerdictWithMargin }

/** The claims whose verdict label differs between a baseline and a candidate. */
export function verdictChanges(baseline: readonly VerdictWithMargin[], candidate: readonly VerdictWithMargin[]): VerdictChange[] {
  return baseline.flatMap((from) => {
    const to = candidate.find((v) => v.id === from.id)
    return to && to.verdict !== from.verdict ? [{ id: from.id, claim: from.claim, from, to }] : []
  })
}

/** One line per changed verdict, saying where either run already marked it fragile. */
export function verdictChangeLines(changes: readonly VerdictChange[]): string[] {
  const mark = (v: VerdictWithMargin) => `${v.verdict}${v.margin.fragile ? ' (fragile)' : ''}`
  return changes.map((c) => `verdict changed: ${c.claim}: ${mark(c.from)} → ${mark(c.to)}${c.from.margin.fragile || c.to.margin.fragile ? '' : ' — neither run marked it fragile'}`)
}
