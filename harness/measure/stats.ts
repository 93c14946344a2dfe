// jstat ships no types; the reference (not tsconfig's include) is what lets a program rooted elsewhere, such as the schema generator's, find them
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./jstat.d.ts" />
import jstat from 'jstat'
import { coefficientOfVariation, median, probit, quantileSorted } from 'simple-statistics'

/**
 * Summary of repeated observations of one quantity (e.g. per-pair CPU ratios of one cell).
 * The confidence interval is the distribution-free one for the median (order statistics of a
 * binomial(n, ½)), so it assumes nothing about the shape of the noise on these machines; for
 * observations nested in repeats, `repeatsEstimate` gives one over the repeats.
 */
export interface Estimate {
  /** Number of observations. */
  n: number
  median: number
  /** 95 % confidence interval of the median; null when n is too small to have one (n < 6). */
  ci95: [number, number] | null
  /** Half-width of the CI relative to the median (e.g. 0.05 = ±5 %); null without a CI. */
  ciHalfWidthRel: number | null
  /** Coefficient of variation (sample SD / mean) of the observations; null when n < 2. */
  cv: number | null
  min: number
  max: number
}

export function estimate(values: readonly number[], confidence = 0.95): Estimate | null {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  const n = xs.length
  if (n === 0) return null
  const m = median(xs)
  let ci95: [number, number] | null = null
  if (n >= 6) {
    // ranks j, k (1-based) with P(X_(j) ≤ median ≤ X_(k)) ≈ confidence, by the normal approximation to binomial(n, ½)
    const z = probit(1 - (1 - confidence) / 2)
    const half = (z * Math.sqrt(n)) / 2
    const j = Math.max(1, Math.floor(n / 2 - half))
    const k = Math.min(n, Math.ceil(n / 2 + half + 1))
    ci95 = [xs[j - 1]!, xs[k - 1]!]
  }
  const cv = n >= 2 && mean(xs) !== 0 ? Math.abs(coefficientOfVariation(xs)) : null
  return {
    n,
    median: m,
    ci95,
    ciHalfWidthRel: ci95 && m !== 0 ? Math.max(m - ci95[0], ci95[1] - m) / Math.abs(m) : null,
    cv,
    min: xs[0]!,
    max: xs[n - 1]!,
  }
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length
}

export function percentileOf(sorted: readonly number[], p: number): number {
  return quantileSorted(sorted as number[], p)
}

/** Share trimmed from each end of the per-repeat values by `repeatsEstimate` (Yuen's 20 %: one of 5–9 repeats, two of 10–14). */
/** The precision a throughput cell aims at: its CPU-ratio CI within ±5 % of the median (else flagged high-var, and adaptive repeats go on). */
export const CI_TARGET_REL = 0.05

export const TRIM_SHARE = 0.2

/**
 * Estimate of a quantity observed in groups (per-pair figures, grouped by repeat) when the groups are
 * the independent units. Repeats run interleaved across cells, each at another minute of the run, and
 * on a shared machine the drift between minutes is larger than the noise between pairs seconds apart
 * (CPU ratio, default runs on the 2-core machine: ≈ 6–10 % between repeats, ≈ 5 % between pairs), so
 * only the repeats can say how far the next run may land. The point is the median of all observations
 * pooled (n is their count; CV, min, max likewise). The 95 % CI is Yuen's, for the 20 %-trimmed mean of
 * the per-repeat medians (Student's t on n − 2g − 1 degrees of freedom with the winsorised variance;
 * Wilcox, Introduction to Robust Estimation, §4.4), on a log scale when all are positive, noise on
 * costs being multiplicative; widened to include the pooled median. The trimming keeps one disturbed
 * repeat (a neighbour's burst: jwt-denylist's 6.54 among 3.34–3.98 in one default run) from
 * doubling the interval; below five repeats nothing is trimmed and it is Student's t. With few repeats,
 * t's small-sample width is what keeps the interval honest: a bootstrap over three repeats is about
 * half as wide and covers 86 % instead of 95 %. One group: its pairs are all there is, and the
 * interval is `estimate`'s (n ≥ 6), which cannot see drift between minutes.
 */
export function repeatsEstimate(groups: ReadonlyArray<readonly number[]>, confidence = 0.95): Estimate | null {
  const gs = groups.map((g) => g.filter((v) => Number.isFinite(v))).filter((g) => g.length > 0)
  const pooled = estimate(gs.flat(), confidence)
  if (pooled === null || gs.length < 2) return pooled
  const medians = gs.map((g) => median(g as number[]))
  const log = medians.every((m) => m > 0)
  const [lo, hi] = yuenInterval(log ? medians.map(Math.log) : medians, confidence)
  const back = (x: number) => (log ? Math.exp(x) : x)
  const m = pooled.median
  const ci95: [number, number] = [Math.min(back(lo), m), Math.max(back(hi), m)]
  return { ...pooled, ci95, ciHalfWidthRel: m !== 0 ? Math.max(m - ci95[0], ci95[1] - m) / Math.abs(m) : null }
}

/** Yuen's confidence interval of the trimmed mean of `values` (n ≥ 2; with nothing to trim, Student's t). */
export function yuenInterval(values: readonly number[], confidence = 0.95, trim = TRIM_SHARE): [number, number] {
  const xs = [...values].sort((a, b) => a - b)
  const n = xs.length
  const g = Math.floor(trim * n)
  const trimmedMean = mean(xs.slice(g, n - g))
  const winsorised = xs.map((x, i) => xs[Math.min(Math.max(i, g), n - g - 1)]!)
  const wm = mean(winsorised)
  const h = n - 2 * g
  // Yuen's squared standard error: (n − 1) s_w² / (h (h − 1)), s_w² the winsorised sample variance
  const se = Math.sqrt(winsorised.reduce((a, x) => a + (x - wm) ** 2, 0) / (h * (h - 1)))
  const half = jstat.studentt.inv(1 - (1 - confidence) / 2, h - 1) * se
  return [trimmedMean - half, trimmedMean + half]
}
