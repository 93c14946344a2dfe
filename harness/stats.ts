import { coefficientOfVariation, median, probit, quantileSorted } from 'simple-statistics'

/**
 * Summary of repeated observations of one quantity (e.g. per-pair CPU ratios of one cell).
 * The confidence interval is the distribution-free one for the median (order statistics of a
 * binomial(n, ½)), so it assumes nothing about the shape of the noise on these machines.
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
