/**
 * The test of a paired run (`--baseline`'s A/B and `--calibrate`): two servers measured in the same
 * repeats, their windows alternating A B, B A, A B, … (scenarios/paired.ts). Its input is one figure
 * per block (B against A: a log ratio, or a difference in µs), grouped by repeat.
 *
 * - **Unit: the ABBA set**, two consecutive blocks (A B then B A) averaged. A drift of the host's speed
 *   within a set favours B in one block and A in the other, so it cancels in the set instead of
 *   adding to the noise (consecutive blocks' figures were negatively correlated in the runs measured:
 *   lag-1 autocorrelation −0.04 to −0.23, docs/decisions.md).
 * - **Sets pooled across repeats**, Student's t on all of them (df = sets − 1), unless the repeats'
 *   means differ by more than the sets inside them allow (one-way ANOVA F-test, p < HETEROGENEITY_P):
 *   then something moved between repeats that the sets inside one do not see, and the repeats are the
 *   units (t on the repeats' means, df = repeats − 1), as a random-effects model would have it. Both
 *   versions' servers run for the whole cell, so a lasting difference between two processes of the
 *   same code is not covered by either interval: A/A runs measured how large it is (docs/decisions.md).
 * - **Why not the repeats' medians alone** (the previous test): with 8 repeats its t has 7 degrees of
 *   freedom, and its MDE at a family's α was 1.4–1.9× that of the sets in the same runs.
 */
import jstat from 'jstat'

/** Above this p of the F-test, the repeats are taken as alike and the ABBA sets pooled across them. */
export const HETEROGENEITY_P = 0.05
/** Power at which a minimum detectable effect is stated. */
export const MDE_POWER = 0.8

export interface PairedTest {
  /** Mean of the units, on the scale given (log ratio or µs). */
  mean: number
  se: number
  df: number
  /** Two-sided p of mean ≠ 0. */
  p: number
  /** 95 % CI of the mean. */
  ci95: [number, number]
  /** ABBA sets, and repeats they came from. */
  sets: number
  repeats: number
  /** 'sets': pooled across repeats; 'repeats': the repeats' means were the units (they disagreed). */
  units: 'sets' | 'repeats'
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const sumSq = (xs: readonly number[], m: number) => xs.reduce((a, b) => a + (b - m) ** 2, 0)

/** A repeat's blocks as ABBA sets: blocks 2k and 2k + 1 averaged (an odd last block is left out). */
export function abbaSets(blocks: readonly number[]): number[] {
  const sets: number[] = []
  for (let k = 0; k + 1 < blocks.length; k += 2) sets.push((blocks[k]! + blocks[k + 1]!) / 2)
  return sets
}

/** The one-way ANOVA p of the repeats' means among sets; 1 where it cannot be computed. */
function heterogeneityP(groups: readonly number[][]): number {
  const all = groups.flat()
  const r = groups.length
  if (r < 2 || all.length - r < 1) return 1
  const grand = mean(all)
  const between = groups.reduce((s, g) => s + g.length * (mean(g) - grand) ** 2, 0) / (r - 1)
  const within = groups.reduce((s, g) => s + sumSq(g, mean(g)), 0) / (all.length - r)
  if (within === 0) return between === 0 ? 1 : 0
  return 1 - jstat.centralF.cdf(between / within, r - 1, all.length - r)
}

/** Student's t on values: mean, SE, df, p, CI. Null below two values. */
function tOf(xs: readonly number[]): Omit<PairedTest, 'sets' | 'repeats' | 'units'> | null {
  if (xs.length < 2) return null
  const m = mean(xs)
  const df = xs.length - 1
  const se = Math.sqrt(sumSq(xs, m) / df / xs.length)
  if (se === 0) return { mean: m, se, df, p: m === 0 ? 1 : 0, ci95: [m, m] }
  const half = jstat.studentt.inv(0.975, df) * se
  return { mean: m, se, df, p: 2 * (1 - jstat.studentt.cdf(Math.abs(m / se), df)), ci95: [m - half, m + half] }
}

/** The paired test of per-block figures grouped by repeat (see the module's comment); null below two sets. */
export function abbaTest(blocksByRepeat: readonly (readonly number[])[]): PairedTest | null {
  const groups = blocksByRepeat.map((b) => abbaSets(b.filter(Number.isFinite))).filter((g) => g.length > 0)
  const sets = groups.reduce((n, g) => n + g.length, 0)
  const byRepeat = groups.length >= 2 && heterogeneityP(groups) < HETEROGENEITY_P
  const t = byRepeat ? tOf(groups.map(mean)) : tOf(groups.flat())
  return t && { ...t, sets, repeats: groups.length, units: byRepeat ? 'repeats' : 'sets' }
}

/** The smallest mean the test finds with MDE_POWER at two-sided `alpha` (on the test's scale). */
export function pairedMde(t: Pick<PairedTest, 'se' | 'df'>, alpha: number): number {
  return (jstat.studentt.inv(1 - alpha / 2, t.df) + jstat.studentt.inv(MDE_POWER, t.df)) * t.se
}
