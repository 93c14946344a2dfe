import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { CellPlan, Scenario } from './scenario.ts'
import { redactUrl } from '../../servers/redis.ts'
import { STRATEGIES } from '../../servers/strategies/index.ts'
import { balancerInfo, runBalancer } from '../processes/balancer.ts'
import { hostSpeedWarning, summarizeHostSpeed } from '../measure/host-speed.ts'
import { gitSha, machineInfo, packageVersions, toolVersion } from '../measure/machine.ts'
import type { BenchOptions } from './options.ts'
import { Orchestrator, serverKey, type CellEnv, type EnvSpec } from '../processes/orchestrator.ts'
import { PID_FILE, stopLeftovers } from '../processes/pidfile.ts'
import { runMechanisms } from '../measure/mechanism-run.ts'
import { MECHANISM_LOOP_MS, MECHANISM_LOOP_MS_QUICK, planSuite, repeatsOf as repeatsFor, runOrder, runsSideBySide, sharedInstances } from './plan.ts'
import { RESULTS_SCHEMA_VERSION, writeResults, type Cell, type CpuPlacement, type RepeatResult, type RunResults } from '../results/results.ts'
import { GENERATOR_SATURATION_SHARE } from '../measure/probes.ts'

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

/** Anything the run writes or prints: a Redis URL's password (REDIS_URL may carry one) becomes `***`. */
export function redactUrls(text: string): string {
  return text.replace(/rediss?:\/\/[^\s'"]+/g, (url) => redactUrl(url))
}

/**
 * A cell's warnings: what every scenario shares (a saturated load generator), then the scenario's own.
 */
export function warningsFor(repeats: readonly RepeatResult[], scenario: Scenario): string[] {
  const s = scenario.summarize(repeats)
  const w: string[] = []
  const windows = repeats.flatMap((r) => (r.kind === 'throughput' ? r.pairs.flatMap((p) => [p.me, p.health]) : r.windows))
  const saturated = windows.length ? windows.filter((x) => x.generatorSaturated).length / windows.length : 0
  if (saturated > 0) {
    w.push(`load generator saturated (≥ ${GENERATOR_SATURATION_SHARE * 100} % of its core) in ${(saturated * 100).toFixed(0)} % of windows: requests/s there is the generator's ceiling, not the server's, and the server ran below saturation, where its CPU per request is higher (less work shared per wake-up)`)
  }
  return [...w, ...(scenario.warnings?.(s, repeats) ?? [])]
}

/**
 * Runs the suite: plans every scenario's cells, then repeats them interleaved (A B C A B C …).
 * After every finished repeat the whole results.json is rewritten atomically, so an interruption
 * keeps everything finished. Always tears down every process it started. First stops what earlier
 * runs in the same results folder left running when they were killed (see harness/processes/pidfile.ts).
 */
export async function runSuite(options: Readonly<BenchOptions>, hooks: RunHooks): Promise<RunResults> {
  const scenarios = hooks.scenarios.filter((s) => options.scenarios.includes(s.name))
  // only a run folder inside the results folder (as npm run bench makes it) looks at its siblings
  const leftovers = dirname(resolve(hooks.runDir)) === resolve(options.out) ? await stopLeftovers(options.out) : { stopped: [], warnings: [] }
  const orchestrator = new Orchestrator(hooks.placement, process.env.REDIS_URL || null, { pidFile: join(hooks.runDir, PID_FILE) })
  const resultsPath = join(hooks.runDir, 'results.json')
  const progressLog = join(hooks.runDir, 'progress.log')
  mkdirSync(hooks.runDir, { recursive: true })
  const results: RunResults = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    tool: { name: 'authbench', version: toolVersion() },
    gitSha: gitSha(),
    status: 'running',
    startedAt: new Date().toISOString(),
    finishedAt: null,
    command: hooks.command,
    machine: machineInfo(),
    packages: packageVersions(),
    options: { ...options },
    placement: hooks.placement,
    redis: { source: 'none', version: null },
    balancer: { kind: 'none', version: null }, // from the cells' envs as they start
    warnings: [],
    processes: orchestrator.processes,
    cells: [],
  }
  const warn = (text: string) => {
    results.warnings.push(redactUrls(text))
    hooks.onWarning?.(redactUrls(text))
  }
  const save = () => writeResults(resultsPath, results)
  orchestrator.onProcess = save
  if (leftovers.stopped.length) {
    warn(`stopped ${leftovers.stopped.length} process(es) that an earlier, killed run left running: ${leftovers.stopped.map((p) => `${p.role} ${p.pid} (${p.runDir})`).join(', ')}`)
  }
  for (const w of leftovers.warnings) warn(w)

  type Slot = { plan: CellPlan; scenario: Scenario; cell: Cell; env: CellEnv | null }
  const slots: Slot[] = []
  const writeLogs = (env: CellEnv) => {
    for (const [name, log] of Object.entries(env.logs())) if (log) writeFileSync(join(hooks.runDir, `${name}.log`), redactUrls(log))
  }
  const repeatsOf = (scenario: Scenario) => repeatsFor(scenario, options)
  /** Marks how the run ended and saves; synchronous, so it also serves the forced way out. */
  const finish = (reason?: string) => {
    const interrupted = hooks.signal.aborted || reason !== undefined
    for (const slot of slots) {
      const c = slot.cell
      if (c.state === 'partial' && interrupted) slot.cell = results.cells[results.cells.indexOf(c)] = { ...c, reason: `interrupted after ${c.repeats.length} of ${repeatsOf(slot.scenario)} repeats` }
      if (slot.env) writeLogs(slot.env)
    }
    // the host's speed under the throughput repeats, once (the forced way out may come after the normal one)
    const hostSpeed = summarizeHostSpeed(results.cells)
    if (hostSpeed && results.hostSpeed === undefined) {
      results.hostSpeed = hostSpeed
      const w = hostSpeedWarning(hostSpeed)
      if (w) warn(w)
    }
    results.status = interrupted ? 'interrupted' : 'complete'
    if (interrupted) results.reason = reason ?? 'interrupted by signal'
    results.finishedAt = new Date().toISOString()
    save()
  }
  const onForce = () => {
    orchestrator.killNow()
    finish('interrupted by signal, forced: processes killed without waiting')
  }
  if (hooks.force?.aborted) onForce()
  hooks.force?.addEventListener('abort', onForce, { once: true })
  const needRedis = scenarios.some((s) => s.plan(options).some((c) => STRATEGIES[c.env.strategy].needsRedis))
  if (needRedis) {
    const r = await orchestrator.redis()
    results.redis = { source: r.source, version: r.version, ...(r.note ? { note: r.note } : {}) }
    if (r.note) warn(r.note)
  }
  for (const scenario of scenarios) {
    for (const plan of scenario.plan(options)) {
      const base = { id: plan.id, scenario: scenario.name, strategy: plan.env.strategy, profile: plan.env.profile, alg: plan.env.alg, instances: plan.env.instances, claims: plan.claims, warnings: [] }
      const noRedis = STRATEGIES[plan.env.strategy].needsRedis && results.redis.source === 'none'
      const skipReason = noRedis ? results.redis.note ?? 'no Redis' : plan.skipReason
      const cell: Cell = skipReason !== undefined ? { ...base, state: 'skipped', reason: skipReason } : { ...base, state: 'partial', reason: 'not started', repeats: [], summary: null }
      slots.push({ plan, scenario, cell, env: null })
    }
  }
  results.cells = slots.map((s) => s.cell)
  save()

  // the mechanisms alone, in a loop on the servers' core, before any cell: what each check costs outside a server
  if (scenarios.some((s) => s.withMechanismLoops) && !hooks.signal.aborted) {
    hooks.onProgress?.({ cell: { id: 'mechanism loops', scenario: 'mechanisms', env: slots[0]!.plan.env, claims: [] }, repeat: 1, repeats: 1, doneSec: 0, totalSec: 0, status: 'mechanisms in a loop' })
    try {
      const redisUrl = results.redis.source === 'none' ? null : (await orchestrator.redis()).url
      results.mechanisms = await runMechanisms(hooks.placement, redisUrl, options.quick ? MECHANISM_LOOP_MS_QUICK : MECHANISM_LOOP_MS)
    } catch (err) {
      results.mechanisms = { error: redactUrls((err as Error).message) }
      warn(`mechanism loops failed: ${results.mechanisms.error}`)
    }
    save()
  }

  const active = () => slots.filter((s) => s.cell.state === 'partial' || s.cell.state === 'completed')
  const estimate = planSuite(options, scenarios, slots.filter((s) => s.cell.state !== 'skipped').map((s) => ({ plan: s.plan, scenario: s.scenario })))
  const totalSec = estimate.totalSec
  let doneSec = 0
  // Full runs: every cell on fresh processes (and its own Redis key prefix, emptied when it stops).
  // --quick shares server processes between cells with the same server settings, across scenarios,
  // each cell with its own balancer in front (if any): a smoke run, said so in the results. The
  // servers are started without a balancer and kept here by serverKey.
  const shared = new Map<string, CellEnv>()
  if (options.quick) warn('--quick: cells with the same server settings share server processes across scenarios, each with its own balancer (a smoke run; full runs start fresh processes for every cell)')
  const stopEnv = async (slot: Slot) => {
    const env = slot.env
    slot.env = null
    if (env === null) return
    await env.stop() // --quick: a cell's view of shared servers stops its balancer (and the servers if it took them over)
    writeLogs(env)
  }
  // each set starts with as many instances as any of its cells takes; a cell takes the first ones
  const instancesOf = sharedInstances(active().map((s) => s.plan))
  const serversOnly = (spec: EnvSpec): EnvSpec => ({ ...spec, instances: instancesOf.get(serverKey(spec)) ?? spec.instances, balancer: 'none', sticky: false })
  // One measurement at a time: cells of an `sideBySide` scenario run side by side, and each takes
  // this lock for everything but its waits. A promise chain: whoever asks next gets it next.
  let lockTail: Promise<void> = Promise.resolve()
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const result = lockTail.then(fn)
    lockTail = result.then(() => {}, () => {})
    return result
  }
  const passThrough = <T>(fn: () => Promise<T>): Promise<T> => fn()

  /**
   * --quick: every process a scenario still needs starts at once, before it measures anything, side by
   * side on both cores (a start is ≈ 0.4 s of CPU); its cells then find them in `shared`. Full runs
   * start each cell's processes just before it. A start that fails here is tried again by its cell,
   * which then fails with the reason.
   */
  const prestart = async (scenario: Scenario, mine: Slot[]) => {
    const specs = new Map<string, EnvSpec>()
    for (const slot of mine) if (slot.env === null && !shared.has(serverKey(slot.plan.env))) specs.set(serverKey(slot.plan.env), serversOnly(slot.plan.env))
    if (specs.size === 0 || hooks.signal.aborted) return
    appendFileSync(progressLog, `${new Date().toISOString()} ${scenario.name} starting the processes of ${specs.size} cell(s) side by side\n`)
    await Promise.all([...specs].map(async ([key, spec]) => {
      try { shared.set(key, await orchestrator.startEnv(spec)) } catch { /* its cell tries again, and fails with the reason */ }
    }))
  }

  /** One repeat of one cell: its processes (fresh, or shared in --quick), the scenario's repeat, the cell's new state. */
  const runCellRepeat = async (scenario: Scenario, slot: Slot, r: number, repeats: number, overlap: boolean): Promise<void> => {
    const { plan } = slot
    if (hooks.signal.aborted || slot.cell.state !== 'partial') return // interrupted, or completed early (adaptive) or failed
    const cell = slot.cell
    const progress = (status?: string) => {
      // every step of every cell, timed: where a run's minutes went (progress.log beside results.json)
      appendFileSync(progressLog, `${new Date().toISOString()} ${plan.id} ${r + 1}/${repeats} ${status ?? ''}\n`)
      hooks.onProgress?.({ cell: plan, repeat: r + 1, repeats, doneSec, totalSec, ...(status ? { status } : {}) })
    }
    const lock = overlap ? exclusive : passThrough
    progress('starting')
    try {
      if (slot.env === null && options.quick) {
        // the servers of an earlier cell with the same server settings; a cell that damages them
        // (kills an instance) is their last user: it takes them over, and stops them when done
        const key = serverKey(plan.env)
        let base = shared.get(key)
        if (!base) shared.set(key, (base = await lock(() => orchestrator.startEnv(serversOnly(plan.env)))))
        if (scenario.damagesEnv) shared.delete(key)
        const servers = base
        slot.env = await lock(() => orchestrator.withBalancer(servers, plan.env, scenario.damagesEnv === true))
      }
      if (slot.env === null) slot.env = await lock(() => orchestrator.startEnv(plan.env))
      const env = slot.env
      results.balancer = runBalancer(results.balancer, cell.balancer = balancerInfo(env.balancer, env.instances.length))
      const repeat = await scenario.runRepeat({ options, orchestrator, signal: hooks.signal, status: progress, exclusive: lock }, env, plan, r)
        .finally(async () => { if (scenario.freshEnvPerRepeat) await stopEnv(slot) })
      cell.repeats.push(repeat)
      const summary = scenario.summarize(cell.repeats)
      cell.warnings = warningsFor(cell.repeats, scenario)
      const { reason: _r, ...base } = cell as typeof cell & { reason?: string }
      const adaptive = scenario.adaptiveRepeats
      const enough = cell.repeats.length === repeats || (adaptive !== undefined && cell.repeats.length >= adaptive.min && adaptive.precise(summary))
      slot.cell = results.cells[results.cells.indexOf(cell)] = enough
        ? { ...base, state: 'completed', summary }
        : { ...base, state: 'partial', reason: `${cell.repeats.length} of ${repeats} repeats done`, summary }
    } catch (err) {
      if (hooks.signal.aborted) return
      const error = redactUrls((err as Error).message)
      const { reason: _r, summary: _s, ...base } = cell as typeof cell & { reason?: string; summary?: unknown }
      slot.cell = results.cells[results.cells.indexOf(cell)] = { ...base, state: 'failed', error }
      warn(`${plan.id} failed: ${error}`)
    }
    doneSec += estimate.perRepeatSec.get(slot.plan.id) ?? 0
    appendFileSync(progressLog, `${new Date().toISOString()} ${plan.id} ${r + 1}/${repeats} ${slot.cell.state === 'failed' ? 'failed' : 'done'}\n`)
    save()
  }

  try {
    for (const scenario of runOrder(scenarios, options)) {
      if (hooks.signal.aborted) break
      const mine = active().filter((s) => s.scenario === scenario)
      const repeats = repeatsOf(scenario)
      if (options.quick && !scenario.damagesEnv) await prestart(scenario, mine)
      for (let r = 0; r < repeats && !hooks.signal.aborted; r++) {
        // rotate the order of cells from repeat to repeat: no cell always runs first (or right after another)
        const order = mine.map((_, i) => mine[(i + r) % mine.length]!)
        if (runsSideBySide(scenario, options)) await Promise.all(order.map((slot) => runCellRepeat(scenario, slot, r, repeats, true)))
        else for (const slot of order) await runCellRepeat(scenario, slot, r, repeats, false)
      }
      // the scenario is over: its cells' processes go (unless --quick shares them with later scenarios)
      for (const slot of mine) await stopEnv(slot)
      doneSec = Math.max(doneSec, estimate.doneAfter.get(scenario.name) ?? doneSec)
    }
  } finally {
    for (const env of shared.values()) writeLogs(env)
    await orchestrator.teardown()
    hooks.force?.removeEventListener('abort', onForce)
    finish()
  }
  return results
}
