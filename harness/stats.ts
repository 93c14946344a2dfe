import { coefficientOfVariation, median, probit, quantileSorted } from 'simple-statistics'

/**
 * Summary of repeated observations of one quantity (e.g. per-pair CPU ratios of one cell).
 * The confidence interval is the distribution-free one for the median (order statistics of a
 * binomial(n, ½)), so it assumes nothing about the shape of the noise on these machines; for
 * observations nested in repeats, `hierarchicalEstimate` gives one from a hierarchical bootstrap.
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

/** Resamples of the hierarchical bootstrap: enough for stable 2.5/97.5 % quantiles, a few ms per estimate. */
export const BOOTSTRAP_RESAMPLES = 2000
/** Fixed seed: the same observations always give the same interval, so a summary is reproducible. */
export const BOOTSTRAP_SEED = 0x5eed_a17b

/** Small, fast, seedable PRNG (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Estimate of a quantity observed in groups (e.g. per-pair CPU ratios, grouped by repeat), whose
 * 95 % CI respects the nesting: a hierarchical bootstrap resamples the groups with replacement, then
 * the observations within each drawn group, and takes the median of what it drew. Pooling every
 * observation as if independent gives too narrow an interval whenever the groups differ (a warm-up
 * bias, a noisy neighbour during one repeat). The median, CV, min and max are those of all
 * observations pooled; n is their count; no CI below six observations (as `estimate`).
 */
export function hierarchicalEstimate(groups: ReadonlyArray<readonly number[]>, opts: { resamples?: number; seed?: number; confidence?: number } = {}): Estimate | null {
  const gs = groups.map((g) => g.filter((v) => Number.isFinite(v))).filter((g) => g.length > 0)
  const pooled = estimate(gs.flat(), opts.confidence)
  if (pooled === null || pooled.n < 6) return pooled
  const resamples = opts.resamples ?? BOOTSTRAP_RESAMPLES
  const alpha = 1 - (opts.confidence ?? 0.95)
  const random = seededRandom(opts.seed ?? BOOTSTRAP_SEED)
  const pick = (n: number) => Math.floor(random() * n)
  const medians = new Float64Array(resamples)
  const drawn = new Float64Array(gs.length * Math.max(...gs.map((g) => g.length)))
  for (let b = 0; b < resamples; b++) {
    let k = 0
    for (let r = 0; r < gs.length; r++) {
      const g = gs[pick(gs.length)]!
      for (let i = 0; i < g.length; i++) drawn[k++] = g[pick(g.length)]!
    }
    medians[b] = medianInPlace(drawn.subarray(0, k))
  }
  const sorted = Array.from(medians.sort())
  // the percentile interval, widened to the pooled median should it miss it (possible with few, very uneven groups)
  const ci95: [number, number] = [Math.min(quantileSorted(sorted, alpha / 2), pooled.median), Math.max(quantileSorted(sorted, 1 - alpha / 2), pooled.median)]
  const m = pooled.median
  return { ...pooled, ci95, ciHalfWidthRel: m !== 0 ? Math.max(m - ci95[0], ci95[1] - m) / Math.abs(m) : null }
}

/** Median of `xs`, reordering it in place (quickselect: resampling draws thousands of these). */
function medianInPlace(xs: Float64Array): number {
  const n = xs.length
  const upper = select(xs, n >> 1)
  if (n % 2 === 1) return upper
  let lower = -Infinity
  for (let i = 0; i < n >> 1; i++) if (xs[i]! > lower) lower = xs[i]!
  return (lower + upper) / 2
}

/** The k-th smallest of xs (0-based); afterwards xs[0…k-1] ≤ xs[k] (Hoare's selection). */
function select(xs: Float64Array, k: number): number {
  let lo = 0
  let hi = xs.length - 1
  while (lo < hi) {
    const pivot = xs[(lo + hi) >> 1]!
    let i = lo
    let j = hi
    while (i <= j) {
      while (xs[i]! < pivot) i++
      while (xs[j]! > pivot) j--
      if (i <= j) {
        const t = xs[i]!
        xs[i] = xs[j]!
        xs[j] = t
        i++
        j--
      }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else break
  }
  return xs[k]!
}
