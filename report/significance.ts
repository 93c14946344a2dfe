/**
 * The statistics of `compare`: which test, how many discoveries one comparison may claim, and the
 * smallest change each metric could have shown.
 *
 * - **Test: Welch's t-test on the logarithms of the per-repeat values** (raw values where one is ≤ 0).
 *   Costs, rates and ratios move multiplicatively (a slower host scales them), so a log scale makes a
 *   change relative and its variance comparable across cells. A rank test (Mann–Whitney U) was the
 *   alternative, and cannot serve: with 6 repeats a side its smallest possible two-sided p is
 *   2 / C(12, 6) ≈ 0.0022, above the Benjamini–Hochberg threshold of a single discovery among the
 *   ~180 metrics of a default comparison (0.05 / 180 ≈ 0.00028) — it could never flag anything.
 * - **False discovery rate: Benjamini–Hochberg** over every metric of one comparison family
 *   (q < FDR_Q), instead of p < 0.05 on each of ~180 metrics.
 * - **Minimum detectable effect**: the relative change that this test, at this metric's repeats and
 *   variance, finds with 80 % power at the level a single discovery needs after BH (FDR_Q / m, the
 *   strictest case), two-sided. "No significant change" then reads "no change larger than ±MDE".
 */
import jstat from 'jstat'
import { abbaTest, MDE_POWER, pairedMde } from '../harness/measure/paired-stats.ts'

/** The false discovery rate `compare` controls in each family of metrics. */
export const FDR_Q = 0.05
export { MDE_POWER }

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const variance = (xs: readonly number[]) => { const m = mean(xs); return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1) }

export type TestName = 'welch-log' | 'welch' | 'paired-log'

/** The scale a metric is tested on: logarithms where every value is positive. */
export function testScale(a: readonly number[], b: readonly number[]): { test: TestName; a: number[]; b: number[] } {
  const positive = [...a, ...b].every((x) => x > 0)
  return positive ? { test: 'welch-log', a: a.map(Math.log), b: b.map(Math.log) } : { test: 'welch', a: [...a], b: [...b] }
}

/** Welch's standard error and degrees of freedom of mean(b) − mean(a); null below 2 values a side. */
function welchSe(a: readonly number[], b: readonly number[]): { se: number; df: number } | null {
  if (a.length < 2 || b.length < 2) return null
  const va = variance(a) / a.length
  const vb = variance(b) / b.length
  if (va + vb === 0) return { se: 0, df: a.length + b.length - 2 }
  return { se: Math.sqrt(va + vb), df: (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1)) }
}

/** Two-sided p-value of Welch's unequal-variance t-test; null when it cannot be computed. */
export function welchP(a: readonly number[], b: readonly number[]): number | null {
  const w = welchSe(a, b)
  if (!w) return null
  const diff = mean(b) - mean(a)
  if (w.se === 0) return diff === 0 ? 1 : 0 // no noise at all: any difference is real, none is none
  return 2 * (1 - jstat.studentt.cdf(Math.abs(diff / w.se), w.df))
}

/**
 * Benjamini–Hochberg adjusted p-values (q-values), in the order given: q_(i) = min over j ≥ i of
 * p_(j) · m / j, at most 1. A metric is a discovery at FDR q when its q-value is below q. Nulls stay null
 * and do not count in m.
 */
export function benjaminiHochberg(ps: readonly (number | null)[]): (number | null)[] {
  const ranked = ps.map((p, i) => ({ p, i })).filter((x): x is { p: number; i: number } => x.p !== null).sort((x, y) => x.p - y.p)
  const m = ranked.length
  const out: (number | null)[] = ps.map(() => null)
  let running = 1
  for (let k = m - 1; k >= 0; k--) {
    running = Math.min(running, (ranked[k]!.p * m) / (k + 1))
    out[ranked[k]!.i] = running
  }
  return out
}

/**
 * The smallest relative change (candidate ÷ baseline − 1, either direction, stated as its magnitude)
 * that the test finds with MDE_POWER at two-sided level `alpha`, given these values' spread and
 * counts; on the log scale exp(δ) − 1, on the raw scale δ ÷ |mean(a)|. Null where it cannot be
 * computed (fewer than 2 values a side); 0 where neither side varies.
 */
export function minimumDetectableEffect(a: readonly number[], b: readonly number[], alpha: number): number | null {
  const { test, a: x, b: y } = testScale(a, b)
  const w = welchSe(x, y)
  if (!w) return null
  if (w.se === 0) return 0
  const delta = (jstat.studentt.inv(1 - alpha / 2, w.df) + jstat.studentt.inv(MDE_POWER, w.df)) * w.se
  if (test === 'welch-log') return Math.exp(delta) - 1
  const base = Math.abs(mean(a))
  return base === 0 ? null : delta / base
}

/**
 * The 95 % confidence interval of the relative change (candidate ÷ baseline − 1), from Welch's
 * interval of the difference in means on the test's scale: exp of its ends − 1 on the log scale,
 * its ends ÷ |mean(a)| on the raw one. Null below 2 values a side.
 */
export function changeCi95(a: readonly number[], b: readonly number[]): [number, number] | null {
  const { test, a: x, b: y } = testScale(a, b)
  const w = welchSe(x, y)
  if (!w) return null
  const d = mean(y) - mean(x)
  const half = w.se === 0 ? 0 : jstat.studentt.inv(0.975, w.df) * w.se
  if (test === 'welch-log') return [Math.exp(d - half) - 1, Math.exp(d + half) - 1]
  const base = Math.abs(mean(a))
  return base === 0 ? null : [(d - half) / base, (d + half) / base]
}

/** The test's p-value on its scale (see testScale). */
export function changeP(a: readonly number[], b: readonly number[]): { test: TestName; p: number | null } {
  const { test, a: x, b: y } = testScale(a, b)
  return { test, p: welchP(x, y) }
}

/**
 * Paired block by block (an A/B run measures both versions in every repeat, their windows alternating
 * A B, B A): the per-block log ratios b ÷ a, grouped by repeat, tested as ABBA sets
 * (harness/measure/paired-stats.ts); the relative change (e^mean − 1), its 95 % CI and its minimum
 * detectable effect at `alpha`. Nulls below two sets.
 */
export function pairedChange(logBlocksByRepeat: ReadonlyArray<readonly number[]>, alpha: number): { change: number | null; p: number | null; ci95: [number, number] | null; mde: number | null } {
  const t = abbaTest(logBlocksByRepeat)
  if (!t) return { change: null, p: null, ci95: null, mde: null }
  return { change: Math.exp(t.mean) - 1, p: t.p, ci95: [Math.exp(t.ci95[0]) - 1, Math.exp(t.ci95[1]) - 1], mde: Math.exp(pairedMde(t, alpha)) - 1 }
}
