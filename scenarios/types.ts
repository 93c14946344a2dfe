import type { CellEnv, EnvSpec, Orchestrator } from '../harness/orchestrator.ts'
import type { BenchOptions } from '../harness/options.ts'
import type { CellSummary, RepeatResult } from '../harness/results.ts'

export interface ScenarioContext {
  options: Readonly<BenchOptions>
  orchestrator: Orchestrator
  /** Aborted on Ctrl-C: stop load at once. */
  signal: AbortSignal
  /** Short status for the progress line ("logging in 1000 users", "pair 3/8"). */
  status(text: string): void
}

/** One cell: a scenario applied to one strategy/profile/algorithm/instance-count combination. */
export interface CellPlan {
  id: string
  scenario: string
  env: EnvSpec
  claims: string[]
  /** Set when this machine cannot run the cell (it is recorded as skipped, with this reason). */
  skipReason?: string
}

/**
 * One metric a scenario reports, declared once: tables, CSV, chart axes and compare all read this.
 * The name is the key in results.json; a trailing `*` stands for a suffix the scenario appends
 * (a claim set, a population size), e.g. `heapBytesPerCredentialAt*`.
 */
export interface MetricDecl {
  name: string
  /** Short human header for tables and chart axes, without the unit. */
  label: string
  /** Unit as printed: µs/req, ratio, req/s, ms, B, s, share, count, keys, B/credential… */
  unit: string
  /** One line: what the number means. */
  meaning: string
  better: 'lower' | 'higher' | 'neither'
  /** Shown in the scenario's short tables and compared by `npm run compare`. */
  headline?: boolean
  /** A value every run must satisfy (e.g. no 5xx under hostile input): violated → `npm run bench` exits 1. */
  invariant?: { max: number; why: string }
}

/** A benchmark scenario: declares what it measures and which claims it tests, plans cells, runs repeats. */
export interface Scenario {
  name: string
  description: string
  /** The article's claims this scenario bears on. */
  claims: string[]
  /** Every metric it reports, in display order. */
  metrics: readonly MetricDecl[]
  plan(options: Readonly<BenchOptions>): CellPlan[]
  runRepeat(ctx: ScenarioContext, env: CellEnv, cell: CellPlan, index: number): Promise<RepeatResult>
  summarize(repeats: readonly RepeatResult[]): CellSummary
  /** Expected seconds for one repeat of one cell, for the progress ETA. */
  estimateRepeatSec(options: Readonly<BenchOptions>): number
  /** Repeats per cell for this scenario (default: options.repeats). */
  repeats?(options: Readonly<BenchOptions>): number
  /** Start the cell's processes afresh for every repeat (and stop them after), e.g. to measure memory from zero. */
  freshEnvPerRepeat?: boolean
  /**
   * Spend time where the noise is: after `min` repeats, a cell whose summary is `precise` enough
   * gets no more (up to the scenario's repeats at most).
   */
  adaptiveRepeats?: { min: number; precise(summary: CellSummary): boolean }
}
