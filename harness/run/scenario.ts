import type { CellEnv, EnvSpec } from '../processes/env-spec.ts'
import type { Orchestrator } from '../processes/orchestrator.ts'
import type { BenchOptions } from './options.ts'
import type { CellSummary, RepeatResult } from '../results/results.ts'
import type { ChartDecl, CurveDecl } from './charts-contract.ts'

export type { ChartDecl, CurveDecl, LevelMetric } from './charts-contract.ts'

export interface ScenarioContext {
  options: Readonly<BenchOptions>
  orchestrator: Orchestrator
  /** Aborted on Ctrl-C: stop load at once. */
  signal: AbortSignal
  /** Short status for the progress line ("logging in 1000 users", "pair 3/8"). */
  status(text: string): void
  /**
   * Runs `fn` while no other cell of the run is measuring: where a scenario's cells run side by side
   * (`sideBySide`), everything that loads a server or times a request goes through here, so that
   * only their waits overlap. Elsewhere cells run one at a time and this simply calls `fn`.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>
  /** A sharded run (`--shard`): resolves when every shard is ready to start its next measured window. */
  rendezvous?: () => Promise<void>
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
  /** Expected seconds for one repeat of a cell (on average over its repeats), for `--plan` and the progress ETA. */
  estimateRepeatSec(options: Readonly<BenchOptions>, cell?: CellPlan): number
  /** Repeats per cell for this scenario (default: options.repeats). */
  repeats?(options: Readonly<BenchOptions>): number
  /** Start the cell's processes afresh for every repeat (and stop them after), e.g. to measure memory from zero. */
  freshEnvPerRepeat?: boolean
  /** It kills or restarts the processes it is given (failover): never handed processes another cell uses, not even in --quick. */
  damagesEnv?: boolean
  /**
   * Spend time where the noise is: after `min` repeats, a cell whose summary is `precise` enough
   * gets no more (up to the scenario's repeats at most).
   */
  adaptiveRepeats?: { min: number; precise(summary: CellSummary): boolean }
  /**
   * All cells of a repeat run side by side. Each starts its processes inside `ctx.exclusive`, and so
   * does everything of it that times a request or a server's CPU; the rest overlaps: revocation's
   * waits for credentials to expire, memory's readings of state (heap after a forced GC, a cell's own
   * Redis keys), which no other cell's load changes.
   */
  sideBySide?: boolean | ((options: Readonly<BenchOptions>) => boolean)
  /** With `sideBySide`: one repeat of this cell as the seconds it holds the lock and the seconds it then runs beside others. */
  estimateSideBySide?(options: Readonly<BenchOptions>, cell: CellPlan): { measureSec: number; waitSec: number }
  /** Warnings of its own about a cell's summary (the runner adds the ones every scenario shares, e.g. a saturated load generator). */
  warnings?(summary: CellSummary, repeats: readonly RepeatResult[]): string[]
  /** A run with this scenario's cells also times each mechanism alone, in a loop (harness/measure/mechanism-run.ts). */
  withMechanismLoops?: boolean
  /**
   * In target mode (servers the harness did not start, `--target`): `needs-stats` where it reads the
   * servers' own figures (their stats endpoints), `stats-optional` where without them it still measures
   * what the load generator sees, or why it cannot run there. Default: it runs.
   */
  targetMode?: 'needs-stats' | 'stats-optional' | { skip: string }
  /** Its cells can be measured by several load-generator shards at once (`--shard`), windows started together. */
  shardable?: boolean
  /** The report's bar charts of it (default: one chart of its first headline metric). */
  charts?: readonly ChartDecl[]
  /** The report's charts against concurrency, for cells that measured several levels. */
  curves?: readonly CurveDecl[]
}

/** The metric names a scenario declares (`METRICS ... as const`), for its charts' types. */
export type MetricNameOf<T extends readonly MetricDecl[]> = T[number]['name']
