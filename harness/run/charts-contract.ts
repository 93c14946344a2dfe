/**
 * The charts a scenario asks the report to draw, declared by metric name next to the metrics
 * themselves (report/charts.ts draws them; it names no scenario). `M` is the scenario's own metric
 * names, so that a chart of a renamed metric fails the type-check.
 */
import type { Cell, ThroughputLevelSummary } from '../results/results.ts'

/** Bars per cell, each with its 95 % CI and the cell's flags that concern its metric. */
export type ChartDecl<M extends string = string> = {
  title: string
  /** Default: the first metric's header (label and unit). */
  yTitle?: string
  /** A dashed horizontal reference line (e.g. 1 = the /health baseline of a ratio). */
  rule?: { y: number; label: string }
  /** The x category of a cell's bar (default: its label). */
  x?: (cell: Cell) => string
  /** The group of a cell's bar within its category (default: the series' group, else one group). */
  group?: (cell: Cell) => string
  /** A red tick per cell at this metric's median, in the first series' group (e.g. the configured lifetime). */
  tick?: M
} & (
  /** One metric, or several side by side as groups (e.g. /me beside /health). */
  | { series: ReadonlyArray<{ metric: M; group?: string }> }
  /** Every metric that fits a `*` declaration, grouped by the suffix. */
  | { pattern: M; groupOfSuffix: (suffix: string) => string }
)

/** A level metric of the throughput sweep that is an estimate (has a median and a CI). */
export type LevelMetric = { [K in keyof ThroughputLevelSummary]: ThroughputLevelSummary[K] extends { median: number } | null ? K : never }[keyof ThroughputLevelSummary]

/** Lines against concurrency (log scale), one per cell that measured several levels. */
export interface CurveDecl {
  title: string
  xTitle: string
  yTitle: string
  metric: LevelMetric
  rule?: { y: number; label: string }
}
