/**
 * One run of the suite, step by step: the results skeleton, the cells it plans, the mechanism loops,
 * then every scenario's repeats over its cells (interleaved, their processes fresh or, in --quick,
 * shared), and how the run ends. runSuite (run.ts) drives it.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { STRATEGIES } from '../../servers/strategies/index.ts'
import { hostSpeedWarning, summarizeHostSpeed } from '../measure/host-speed.ts'
import { runMechanisms } from '../measure/mechanism-run.ts'
import { balancerInfo, runBalancer } from '../processes/balancer.ts'
import { serverKey, type CellEnv, type EnvSpec } from '../processes/env-spec.ts'
import { Orchestrator } from '../processes/orchestrator.ts'
import { PID_FILE } from '../processes/pidfile.ts'
import { writeResults, type Cell, type CpuPlacement, type RunResults } from '../results/results.ts'
import { warningsFor } from './cell-warnings.ts'
import type { BenchOptions } from './options.ts'
import { MECHANISM_LOOP_MS, MECHANISM_LOOP_MS_QUICK, planSuite, repeatsOf, runOrder, runsSideBySide, sharedInstances, type SuitePlan } from './plan.ts'
import { plannedCell, plannedWarnings } from './planned-cell.ts'
import { redactUrls } from './redact.ts'
import type { CellPlan, Scenario } from './scenario.ts'
import { startedResults } from './started-results.ts'
import { targetSet } from '../processes/targets.ts'
import { Rendezvous } from './rendezvous.ts'

export interface RunHooks {
  /** Where this run's results.json and logs go. */
  runDir: string
  /** Aborted: stop gracefully (finish nothing more, stop every process, save as interrupted). */
  signal: AbortSignal
  /** Aborted: kill every process now and save as interrupted, synchronously; the caller exits right after. */
  force?: AbortSignal
  placement: CpuPlacement
  command: string[]
  /** Called before each cell repeat and with short status updates. */
  onProgress?(p: { cell: CellPlan; repeat: number; repeats: number; doneSec: number; totalSec: number; status?: string }): void
  /** Called for each warning as it happens. */
  onWarning?(text: string): void
  /** The scenarios this run may plan (options.scenarios picks among them): passed in, not imported upward. */
  scenarios: readonly Scenario[]
}

/** A planned cell, its current result, and its processes while it has them. */
interface Slot { plan: CellPlan; scenario: Scenario; cell: Cell; env: CellEnv | null }

export class SuiteRun {
  readonly results: RunResults
  private readonly orchestrator: Orchestrator
  private readonly resultsPath: string
  private readonly progressLog: string
  private readonly slots: Slot[] = []
  /** --quick: server processes shared by cells with the same server settings, by serverKey. */
  private readonly shared = new Map<string, CellEnv>()
  /** One measurement at a time: a promise chain, whoever asks next gets the lock next. */
  private lockTail: Promise<void> = Promise.resolve()
  private estimate: SuitePlan | null = null
  private doneSec = 0
  private instancesOf = new Map<string, number>()
  /** Servers the harness did not start (--target): nothing to start, share, pin or stop. */
  private readonly targetMode: boolean
  /** A sharded run (--shard i/n, n > 1): where every measured window's start is agreed. */
  private readonly rendezvous: Rendezvous | null
  private readonly onForce = () => {
    this.orchestrator.killNow()
    this.finish('interrupted by signal, forced: processes killed without waiting')
  }

  constructor(private readonly options: Readonly<BenchOptions>, private readonly hooks: RunHooks, private readonly scenarios: readonly Scenario[]) {
    this.targetMode = options.targets.length > 0
    const shards = options.shard?.count ?? 1
    this.rendezvous = shards > 1 ? new Rendezvous(process.env.AUTHBENCH_RENDEZVOUS_URL ?? '', options.runId ?? '', shards) : null
    this.orchestrator = new Orchestrator(hooks.placement, process.env.REDIS_URL || null, {
      pidFile: join(hooks.runDir, PID_FILE), ...(this.targetMode ? { targets: targetSet(options.targets, options.targetStats) } : {}),
    })
    this.resultsPath = join(hooks.runDir, 'results.json')
    this.progressLog = join(hooks.runDir, 'progress.log')
    mkdirSync(hooks.runDir, { recursive: true })
    this.results = startedResults(options, hooks, this.orchestrator.processes)
    this.orchestrator.onProcess = () => this.save()
  }

  warn(text: string): void {
    this.results.warnings.push(redactUrls(text))
    this.hooks.onWarning?.(redactUrls(text))
  }

  private save(): void {
    writeResults(this.resultsPath, this.results)
  }

  private writeLogs(env: CellEnv): void {
    for (const [name, log] of Object.entries(env.logs())) if (log) writeFileSync(join(this.hooks.runDir, `${name}.log`), redactUrls(log))
  }

  private log(line: string): void {
    appendFileSync(this.progressLog, `${new Date().toISOString()} ${line}\n`)
  }

  /** The whole run; always tears down every process and saves how it ended. */
  async run(): Promise<RunResults> {
    if (this.hooks.force?.aborted) this.onForce()
    this.hooks.force?.addEventListener('abort', this.onForce, { once: true })
    await this.startRedis()
    this.planCells()
    await this.mechanismLoops()
    this.estimate = planSuite(this.options, this.scenarios, this.slots.filter((s) => s.cell.state !== 'skipped').map((s) => ({ plan: s.plan, scenario: s.scenario })))
    // each shared set starts with as many instances as any of its cells takes; a cell takes the first ones
    this.instancesOf = sharedInstances(this.active().map((s) => s.plan))
    if (this.options.quick) this.warn('--quick: cells with the same server settings share server processes across scenarios, each with its own balancer (a smoke run; full runs start fresh processes for every cell)')
    try {
      for (const scenario of runOrder(this.scenarios, this.options)) {
        if (this.hooks.signal.aborted) break
        await this.runScenario(scenario)
      }
    } finally {
      for (const env of this.shared.values()) this.writeLogs(env)
      await this.orchestrator.teardown()
      this.rendezvous?.close()
      this.hooks.force?.removeEventListener('abort', this.onForce)
      this.finish()
    }
    return this.results
  }

  /** Starts the private redis-server (or adopts REDIS_URL) when a planned cell needs Redis. */
  private async startRedis(): Promise<void> {
    const needRedis = this.scenarios.some((s) => s.plan(this.options).some((c) => STRATEGIES[c.env.strategy].needsRedis))
    if (!needRedis) return
    const r = await this.orchestrator.redis()
    this.results.redis = { source: r.source, version: r.version, ...(r.note ? { note: r.note } : {}) }
    if (r.note) this.warn(r.note)
  }

  /** Every cell of every scenario, skipped (with why) or waiting for its first repeat. */
  private planCells(): void {
    for (const scenario of this.scenarios) {
      for (const plan of scenario.plan(this.options)) this.slots.push({ plan, scenario, cell: plannedCell(scenario, plan, this.options, this.results.redis), env: null })
    }
    this.results.cells = this.slots.map((s) => s.cell)
    this.save()
  }

  /** The mechanisms alone, in a loop on the servers' core, before any cell: what each check costs outside a server. */
  private async mechanismLoops(): Promise<void> {
    if (!this.scenarios.some((s) => s.withMechanismLoops) || this.hooks.signal.aborted) return
    if (this.targetMode) return this.warn('target mode: mechanism loops not run (they would time this machine, not the targets\' one)')
    this.hooks.onProgress?.({ cell: { id: 'mechanism loops', scenario: 'mechanisms', env: this.slots[0]!.plan.env, claims: [] }, repeat: 1, repeats: 1, doneSec: 0, totalSec: 0, status: 'mechanisms in a loop' })
    try {
      const redisUrl = this.results.redis.source === 'none' ? null : (await this.orchestrator.redis()).url
      this.results.mechanisms = await runMechanisms(this.hooks.placement, redisUrl, this.options.quick ? MECHANISM_LOOP_MS_QUICK : MECHANISM_LOOP_MS)
    } catch (err) {
      this.results.mechanisms = { error: redactUrls((err as Error).message) }
      this.warn(`mechanism loops failed: ${this.results.mechanisms.error}`)
    }
    this.save()
  }

  private active(): Slot[] {
    return this.slots.filter((s) => s.cell.state === 'partial' || s.cell.state === 'completed')
  }

  /** A scenario's repeats over its cells, the cell order rotating from repeat to repeat; then its processes go. */
  private async runScenario(scenario: Scenario): Promise<void> {
    const mine = this.active().filter((s) => s.scenario === scenario)
    const repeats = repeatsOf(scenario, this.options)
    if (this.options.quick && !scenario.damagesEnv && !this.targetMode) await this.prestart(scenario, mine)
    for (let r = 0; r < repeats && !this.hooks.signal.aborted; r++) {
      // no cell always runs first (or right after another)
      const order = mine.map((_, i) => mine[(i + r) % mine.length]!)
      if (runsSideBySide(scenario, this.options)) await Promise.all(order.map((slot) => this.runCellRepeat(scenario, slot, r, repeats, true)))
      else for (const slot of order) await this.runCellRepeat(scenario, slot, r, repeats, false)
    }
    // the scenario is over: its cells' processes go (unless --quick shares them with later scenarios)
    for (const slot of mine) await this.stopEnv(slot)
    this.doneSec = Math.max(this.doneSec, this.estimate!.doneAfter.get(scenario.name) ?? this.doneSec)
  }

  private readonly exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const result = this.lockTail.then(fn)
    this.lockTail = result.then(() => {}, () => {})
    return result
  }

  private serversOnly(spec: EnvSpec): EnvSpec {
    return { ...spec, instances: this.instancesOf.get(serverKey(spec)) ?? spec.instances, balancer: 'none', sticky: false }
  }

  /**
   * --quick: every process a scenario still needs starts at once, before it measures anything, side by
   * side on both cores (a start is ≈ 0.4 s of CPU); its cells then find them in `shared`. Full runs
   * start each cell's processes just before it. A start that fails here is tried again by its cell,
   * which then fails with the reason.
   */
  private async prestart(scenario: Scenario, mine: Slot[]): Promise<void> {
    const specs = new Map<string, EnvSpec>()
    for (const slot of mine) if (slot.env === null && !this.shared.has(serverKey(slot.plan.env))) specs.set(serverKey(slot.plan.env), this.serversOnly(slot.plan.env))
    if (specs.size === 0 || this.hooks.signal.aborted) return
    this.log(`${scenario.name} starting the processes of ${specs.size} cell(s) side by side`)
    await Promise.all([...specs].map(async ([key, spec]) => {
      try { this.shared.set(key, await this.orchestrator.startEnv(spec)) } catch { /* its cell tries again, and fails with the reason */ }
    }))
  }

  /** A cell's processes: fresh (full runs), or a view of shared servers with its own balancer (--quick). */
  private async envFor(scenario: Scenario, slot: Slot, lock: <T>(fn: () => Promise<T>) => Promise<T>): Promise<CellEnv> {
    const { plan } = slot
    if (slot.env === null && this.options.quick && !this.targetMode) {
      // a cell that damages them (kills an instance) is the servers' last user: it takes them over, and stops them when done
      const key = serverKey(plan.env)
      let base = this.shared.get(key)
      if (!base) this.shared.set(key, (base = await lock(() => this.orchestrator.startEnv(this.serversOnly(plan.env)))))
      if (scenario.damagesEnv) this.shared.delete(key)
      const servers = base
      slot.env = await lock(() => this.orchestrator.withBalancer(servers, plan.env, scenario.damagesEnv === true))
    }
    if (slot.env === null) slot.env = await lock(() => this.orchestrator.startEnv(plan.env))
    return slot.env
  }

  /** One repeat of one cell: its processes, the scenario's repeat, the cell's new state. */
  private async runCellRepeat(scenario: Scenario, slot: Slot, r: number, repeats: number, overlap: boolean): Promise<void> {
    const { plan } = slot
    if (this.hooks.signal.aborted || slot.cell.state !== 'partial') return // interrupted, or completed early (adaptive) or failed
    const cell = slot.cell
    const progress = (status?: string) => {
      // every step of every cell, timed: where a run's minutes went (progress.log beside results.json)
      this.log(`${plan.id} ${r + 1}/${repeats} ${status ?? ''}`)
      this.hooks.onProgress?.({ cell: plan, repeat: r + 1, repeats, doneSec: this.doneSec, totalSec: this.estimate!.totalSec, ...(status ? { status } : {}) })
    }
    const lock = overlap ? this.exclusive : <T>(fn: () => Promise<T>): Promise<T> => fn()
    progress('starting')
    try {
      const env = await this.envFor(scenario, slot, lock)
      this.results.balancer = runBalancer(this.results.balancer, cell.balancer = balancerInfo(env.balancer, env.instances.length))
      const sync = this.rendezvous ? { rendezvous: this.rendezvous.arrive } : {}
      const repeat = await scenario.runRepeat({ options: this.options, orchestrator: this.orchestrator, signal: this.hooks.signal, status: progress, exclusive: lock, ...sync }, env, plan, r)
        .finally(async () => { if (scenario.freshEnvPerRepeat) await this.stopEnv(slot) })
      cell.repeats.push(repeat)
      this.recordRepeat(scenario, slot, repeats)
    } catch (err) {
      if (this.hooks.signal.aborted) return
      const error = redactUrls((err as Error).message)
      const { reason: _r, summary: _s, ...base } = cell as typeof cell & { reason?: string; summary?: unknown }
      slot.cell = this.results.cells[this.results.cells.indexOf(cell)] = { ...base, state: 'failed', error }
      this.warn(`${plan.id} failed: ${error}`)
    }
    this.doneSec += this.estimate!.perRepeatSec.get(slot.plan.id) ?? 0
    this.log(`${plan.id} ${r + 1}/${repeats} ${slot.cell.state === 'failed' ? 'failed' : 'done'}`)
    this.save()
  }

  /** After a repeat: the cell's summary and warnings, and whether it has enough repeats (all, or adaptive precision). */
  private recordRepeat(scenario: Scenario, slot: Slot, repeats: number): void {
    const cell = slot.cell as Extract<Cell, { repeats: unknown }>
    const summary = scenario.summarize(cell.repeats)
    cell.warnings = [...plannedWarnings(slot.plan, this.options, scenario), ...warningsFor(cell.repeats, scenario, Boolean(this.options.shard))]
    const { reason: _r, ...base } = cell as typeof cell & { reason?: string }
    const adaptive = scenario.adaptiveRepeats
    // shards run every repeat: one stopping early would leave the others waiting at its next window
    const enough = cell.repeats.length === repeats || (adaptive !== undefined && !this.rendezvous && cell.repeats.length >= adaptive.min && adaptive.precise(summary))
    slot.cell = this.results.cells[this.results.cells.indexOf(cell)] = enough
      ? { ...base, state: 'completed', summary }
      : { ...base, state: 'partial', reason: `${cell.repeats.length} of ${repeats} repeats done`, summary }
  }

  private async stopEnv(slot: Slot): Promise<void> {
    const env = slot.env
    slot.env = null
    if (env === null) return
    await env.stop() // --quick: a cell's view of shared servers stops its balancer (and the servers if it took them over)
    this.writeLogs(env)
  }

  /** Marks how the run ended and saves; synchronous, so it also serves the forced way out. */
  private finish(reason?: string): void {
    const interrupted = this.hooks.signal.aborted || reason !== undefined
    for (const slot of this.slots) {
      const c = slot.cell
      if (c.state === 'partial' && interrupted) slot.cell = this.results.cells[this.results.cells.indexOf(c)] = { ...c, reason: `interrupted after ${c.repeats.length} of ${repeatsOf(slot.scenario, this.options)} repeats` }
      if (slot.env) this.writeLogs(slot.env)
    }
    // the host's speed under the throughput repeats, once (the forced way out may come after the normal one)
    const hostSpeed = summarizeHostSpeed(this.results.cells)
    if (hostSpeed && this.results.hostSpeed === undefined) {
      this.results.hostSpeed = hostSpeed
      const w = hostSpeedWarning(hostSpeed)
      if (w) this.warn(w)
    }
    this.results.status = interrupted ? 'interrupted' : 'complete'
    if (interrupted) this.results.reason = reason ?? 'interrupted by signal'
    this.results.finishedAt = new Date().toISOString()
    this.save()
  }
}
