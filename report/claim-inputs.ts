/**
 * What the claim rules (claims.ts) read a run through: strategies grouped by their registry traits,
 * a strategy's cell in a scenario (its preferred profile), its metric readings by typed name, and
 * "clearly lower". Pure functions of results.json.
 */
import type { Cell, RunResults } from '../harness/results/results.ts'
import type { Estimate } from '../harness/measure/stats.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import type { StrategyDefinition } from '../servers/strategies/types.ts'
import { fmtEstimate, isMeasured, metricOf } from './model.ts'
import type { MetricName, MetricPrefix, ScenarioName } from './metric-names.ts'

export type VerdictKind = 'supported' | 'refuted' | 'depends' | 'not measured'

export interface Verdict {
  id: string
  /** The claim, quoted from the article. */
  claim: string
  /** Which metrics test it. */
  metrics: string
  /** Measured values for the strategies it compares (median [95 % CI] unit). */
  values: string[]
  verdict: VerdictKind
  /** One sentence: why, and under which condition. */
  condition: string
  /** The rule, as written here. */
  rule: string
}

/** "Clearly different": CIs apart, or without CIs medians more than this apart (relative). */
const NO_CI_MARGIN_REL = 0.1
export type Def = StrategyDefinition
export const defs = (): Def[] => Object.values(STRATEGIES)
export const isSession = (d: Def) => d.family === 'server-session'
export const isPureJwt = (d: Def) => d.family === 'jwt' && d.hybrid === null
export const isHybrid = (d: Def) => d.hybrid !== null

/** a clearly below b: a's CI entirely below b's, or (no CIs) a's median more than 10 % below. */
export function clearlyLower(a: Estimate, b: Estimate): boolean {
  if (a.ci95 && b.ci95) return a.ci95[1] < b.ci95[0]
  return a.median < b.median * (1 - NO_CI_MARGIN_REL) && a.median < b.median
}

const PROFILE_PREFERENCE = ['tuned', 'floor', 'defaults']

/** The measured cell of a strategy in a scenario: HS256, preferring tuned, then floor, then defaults. */
export function cellFor(results: RunResults, scenario: string, strategy: string, match: (c: Cell) => boolean = () => true): Cell | null {
  const cells = results.cells.filter((c) => c.scenario === scenario && c.strategy === strategy && c.alg === 'HS256' && isMeasured(c) && match(c))
  cells.sort((a, b) => rank(a.profile) - rank(b.profile))
  return cells[0] ?? null
}
const rank = (p: string) => (PROFILE_PREFERENCE.indexOf(p) + 4) % 4

/** One estimate a claim rule read: which cell, which metric (what verdict-margins.ts shifts to find the nearest flip). */
export interface ReadKey { cellId: string; metric: string }
let recorder: ReadKey[] | null = null

/** Runs `fn`, recording every estimate the claim rules read through `read` and `readLargest` meanwhile. */
export function recordingReads<T>(fn: () => T): { value: T; reads: ReadKey[] } {
  const outer = recorder
  recorder = []
  try {
    const value = fn()
    return { value, reads: recorder }
  } finally {
    recorder = outer
  }
}

export interface Reading { strategy: string; profile: string; e: Estimate }
export function read<S extends ScenarioName>(results: RunResults, scenario: S, metric: MetricName<S>, strategies: Def[], match?: (c: Cell) => boolean): Reading[] {
  const out: Reading[] = []
  for (const d of strategies) {
    const cell = cellFor(results, scenario, d.name, match)
    const e = cell && metricOf(cell, metric)
    if (cell && e) {
      recorder?.push({ cellId: cell.id, metric })
      out.push({ strategy: d.name, profile: cell.profile, e })
    }
  }
  return out
}
/** The largest `prefix<N>` metric (e.g. heapBytesPerCredentialAt100000) of a strategy's cell. */
export function readLargest<S extends ScenarioName>(results: RunResults, scenario: S, prefix: MetricPrefix<S>, strategies: Def[]): Reading[] {
  const out: Reading[] = []
  for (const d of strategies) {
    const cell = cellFor(results, scenario, d.name)
    const summary = cell && isMeasured(cell) ? cell.summary : null
    if (!cell || summary?.kind !== 'metrics') continue
    const names = Object.keys(summary.metrics).filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))
    names.sort((a, b) => Number(b.slice(prefix.length)) - Number(a.slice(prefix.length)))
    const e = names[0] ? metricOf(cell, names[0]) : null
    if (e) {
      recorder?.push({ cellId: cell.id, metric: names[0]! })
      out.push({ strategy: d.name, profile: cell.profile, e })
    }
  }
  return out
}
export const show = (r: Reading, unit: string) => `${r.strategy} (${r.profile}): ${fmtEstimate(r.e)} ${unit}`
export const notMeasured = (base: Omit<Verdict, 'verdict' | 'condition' | 'values'>, needs: string): Verdict =>
  ({ ...base, values: [], verdict: 'not measured', condition: `not measured in this run: needs ${needs}` })

/** 1. Scalability: sessions "moderate", JWT "better". */
