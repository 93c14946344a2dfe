/**
 * What a run will do and how long it will take, before anything starts: the cells of every
 * scenario, their repeats, and an estimate that `npm run bench -- --plan` prints and the progress
 * bar's ETA uses. Pure: no process is started.
 */
import type { CellPlan, Scenario } from './scenario.ts'
import type { BenchOptions } from './options.ts'
import { STRATEGIES } from '../../servers/strategies/index.ts'
import { serverKey } from '../processes/env-spec.ts'
import { mechanismsSec } from '../measure/mechanism-run.ts'
import { cpus } from 'node:os'

/** Seconds to start one server instance and see its ready line (the bundle, its strategy's packages, keys); measured here 0.33–0.40 s. */
export const INSTANCE_START_SEC = 0.4
/**
 * Seconds per instance when --quick starts a scenario's processes all at once: the starts then keep
 * both cores busy, ≈ 0.28–0.33 s per instance measured (7, 14 and 16 instances, with balancers).
 */
export const PRESTART_SEC_PER_INSTANCE = 0.3
/** Instances of one cell start side by side, on every core (they are pinned once ready). */
const SERVER_START_PARALLELISM = cpus().length
/** Seconds to start a balancer and see it forward a request (HAProxy: 0.14 s per cell measured in --quick's scale-out, where the servers were already up). */
export const BALANCER_START_SEC = 0.15
/** Milliseconds each mechanism loop runs (harness/measure/mechanisms.ts), in a run with throughput cells. */
export const MECHANISM_LOOP_MS = 300
export const MECHANISM_LOOP_MS_QUICK = 50

/** Seconds the run spends outside cells: a private redis-server, the report at the end. */
export const RUN_OVERHEAD_SEC = 4

export interface PlannedCell {
  id: string
  scenario: string
  repeats: number
  /** Expected seconds for the whole cell: its repeats and its process starts. */
  sec: number
}

export interface SuitePlan {
  cells: PlannedCell[]
  totalSec: number
  /** Expected seconds of one repeat of a cell, starts included: what progress advances by. */
  perRepeatSec: Map<string, number>
  /** Expected seconds elapsed when a scenario has finished. */
  doneAfter: Map<string, number>
  /** Expected seconds of each scenario: its cells, and the waits that outlast them. */
  scenarioSec: Map<string, number>
}

/** Whether a scenario's cells run side by side with these options. */
export function runsSideBySide(scenario: Scenario, options: Readonly<BenchOptions>): boolean {
  return typeof scenario.sideBySide === 'function' ? scenario.sideBySide(options) : scenario.sideBySide === true
}

/**
 * The order a run takes its scenarios in: the registry's; --quick, whose cells share servers, takes
 * those that damage them (failover kills an instance) last, so that every other cell finds them whole.
 */
export function runOrder<S extends Pick<Scenario, 'damagesEnv'>>(scenarios: readonly S[], options: Pick<BenchOptions, 'quick'>): S[] {
  return options.quick ? [...scenarios.filter((s) => !s.damagesEnv), ...scenarios.filter((s) => s.damagesEnv)] : [...scenarios]
}

/** --quick: the instances each set of shared servers starts with, the most any of these cells takes. */
export function sharedInstances(plans: readonly CellPlan[]): Map<string, number> {
  const need = new Map<string, number>()
  for (const { env } of plans) {
    const key = serverKey(env)
    need.set(key, Math.max(need.get(key) ?? 0, env.instances))
  }
  return need
}

export function repeatsOf(scenario: Scenario, options: Readonly<BenchOptions>): number {
  return scenario.repeats?.(options) ?? options.repeats
}

/** Estimates a run of these (not skipped) cells, in the order the run takes them. */
export function planSuite(options: Readonly<BenchOptions>, scenarios: readonly Scenario[], cells: ReadonlyArray<{ plan: CellPlan; scenario: Scenario }>): SuitePlan {
  const started = new Set<string>()
  const planned: PlannedCell[] = []
  const perRepeatSec = new Map<string, number>()
  const doneAfter = new Map<string, number>()
  const scenarioSec = new Map<string, number>()
  let total = RUN_OVERHEAD_SEC + (scenarios.some((s) => s.withMechanismLoops) ? mechanismsSec(options.quick ? MECHANISM_LOOP_MS_QUICK : MECHANISM_LOOP_MS) : 0)
  const shared = sharedInstances(cells.map((c) => c.plan))
  for (const scenario of runOrder(scenarios, options)) {
    const before = total
    const mine = cells.filter((c) => c.scenario === scenario)
    // cells that overlap their waits: measured one after another, each then waits beside the next
    let measuredSec = 0
    let lastEndSec = 0
    for (const { plan } of mine) {
      const repeats = repeatsOf(scenario, options)
      // an adaptive cell stops between its minimum and its maximum: expect half-way
      const adaptive = scenario.adaptiveRepeats
      const expectedRepeats = adaptive && adaptive.min < repeats ? (adaptive.min + repeats) / 2 : repeats
      const oneStartSec = plan.env.instances * INSTANCE_START_SEC / Math.min(plan.env.instances, SERVER_START_PARALLELISM) + (plan.env.instances > 1 && plan.env.balancer !== 'none' ? BALANCER_START_SEC : 0)
      // --quick: servers shared by server settings (harness/run/run.ts), each cell's balancer its own; a
      // cell that damages them takes them over (no later cell finds them)
      const key = serverKey(plan.env)
      const reuses = options.quick && started.has(key)
      if (options.quick) {
        if (scenario.damagesEnv) started.delete(key)
        else started.add(key)
      }
      const shares = options.quick && !scenario.damagesEnv
      const balancerSec = plan.env.instances > 1 && plan.env.balancer !== 'none' ? BALANCER_START_SEC : 0
      const starts = reuses ? 0 : scenario.freshEnvPerRepeat && !shares ? expectedRepeats : 1
      // --quick starts them all at the scenario's beginning, side by side (harness/run/run.ts prestart),
      // as many of each as any cell takes
      const startSec = shares ? shared.get(key)! * PRESTART_SEC_PER_INSTANCE + balancerSec : oneStartSec
      const overlap = runsSideBySide(scenario, options) && scenario.estimateSideBySide ? scenario.estimateSideBySide(options, plan) : null
      const sec = (overlap ? expectedRepeats * overlap.measureSec : expectedRepeats * scenario.estimateRepeatSec(options, plan))
        + starts * startSec + (reuses ? balancerSec : 0)
      if (overlap) {
        measuredSec += sec
        lastEndSec = Math.max(lastEndSec, measuredSec + overlap.waitSec)
      }
      planned.push({ id: plan.id, scenario: scenario.name, repeats, sec })
      perRepeatSec.set(plan.id, sec / expectedRepeats)
      total += sec
    }
    // the last waits end after the last measurement: the tail belongs to the scenario, not to a cell
    total += Math.max(0, lastEndSec - measuredSec)
    doneAfter.set(scenario.name, total)
    if (mine.length > 0) scenarioSec.set(scenario.name, total - before)
  }
  return { cells: planned, totalSec: total, perRepeatSec, doneAfter, scenarioSec }
}

/** `--plan`'s table: one line per scenario (cells, repeats, seconds) and the total. */
export function renderPlan(plan: SuitePlan, skipped: ReadonlyArray<{ id: string; reason: string }>): string {
  const lines: string[] = []
  const byScenario = new Map<string, PlannedCell[]>()
  for (const c of plan.cells) byScenario.set(c.scenario, [...(byScenario.get(c.scenario) ?? []), c])
  for (const [scenario, cells] of byScenario) {
    const sec = plan.scenarioSec.get(scenario) ?? cells.reduce((t, c) => t + c.sec, 0)
    lines.push(`${scenario.padEnd(13)} ${String(cells.length).padStart(3)} cells  ≈ ${fmtDuration(sec).padStart(7)}`)
    for (const c of cells) lines.push(`  ${c.id.padEnd(58)} ${c.repeats} repeat(s)  ≈ ${c.sec.toFixed(1)} s`)
  }
  for (const s of skipped) lines.push(`  skipped: ${s.id} — ${s.reason}`)
  lines.push(`total: ${plan.cells.length} cells, estimated ${fmtDuration(plan.totalSec)}`)
  return lines.join('\n')
}

export function fmtDuration(sec: number): string {
  const s = Math.round(sec)
  return s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`
}

/** The cells a run of these options would measure, and those it would skip (with why), without starting anything. */
/** Why a cell cannot run in target mode (servers the harness did not start), or undefined where it can. */
export function targetSkipReason(scenario: Scenario, plan: CellPlan, o: Readonly<BenchOptions>): string | undefined {
  if (o.targets.length === 0) return undefined
  const mode = scenario.targetMode
  if (typeof mode === 'object') return `target mode: ${mode.skip}`
  if (o.shard !== null && !scenario.shardable) return 'a sharded run (--shard) measures the scenarios whose windows shards can start together (throughput); run the others unsharded'
  const { strategy, profile, alg, claims } = plan.env
  const runs = `${o.strategies[0]} ${o.profiles[0]} ${o.algs[0]}`
  if (`${strategy} ${profile} ${alg}` !== runs || (claims ?? 'small') !== 'small') return `target mode: this cell needs servers running ${strategy} ${profile} ${alg}${claims && claims !== 'small' ? ` with ${claims} claims` : ''}; the targets run ${runs}`
  if (plan.env.instances > 1 && plan.env.balancer !== 'none') return 'target mode: this cell puts a balancer of its own in front of servers it starts'
  if (plan.env.instances > o.targets.length) return `target mode: this cell needs ${plan.env.instances} instance URLs in --target (got ${o.targets.length})`
  if (mode === 'needs-stats' && o.targetStats.length === 0) return 'target mode: this scenario measures the servers\' own CPU and bytes: start each with --stats-port and pass --target-stats'
  return undefined
}

export function listCells(options: Readonly<BenchOptions>, scenarios: readonly Scenario[], redisNote: string | null): { run: Array<{ plan: CellPlan; scenario: Scenario }>; skipped: Array<{ id: string; reason: string }> } {
  const run: Array<{ plan: CellPlan; scenario: Scenario }> = []
  const skipped: Array<{ id: string; reason: string }> = []
  for (const scenario of scenarios.filter((s) => options.scenarios.includes(s.name))) {
    for (const plan of scenario.plan(options)) {
      const noRedis = STRATEGIES[plan.env.strategy].needsRedis && redisNote !== null && options.targets.length === 0
      const reason = noRedis ? redisNote : plan.skipReason ?? targetSkipReason(scenario, plan, options)
      if (reason === undefined) run.push({ plan, scenario })
      else skipped.push({ id: plan.id, reason })
    }
  }
  return { run, skipped }
}
