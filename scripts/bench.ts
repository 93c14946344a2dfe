/**
 * `npm run bench`: runs the benchmark suite and writes results/<date>-<time>-<sha>/results.json.
 * Exit codes: 0 done, 1 failed, 2 bad option, 130 interrupted (SIGINT or SIGTERM: everything finished
 * is kept, every process stopped before exit; see harness/run/interrupt.ts for repeated signals).
 */
import { claimRunDir, runDirName } from '../harness/run/run-dir.ts'
import { dirname, join } from 'node:path'
import { Command, InvalidArgumentError, Option } from 'commander'
import cliProgress from 'cli-progress'
import { FORCE_AFTER_MS, interruptPolicy } from '../harness/run/interrupt.ts'
import { BENCH_DEFAULTS, OptionError, resolveBenchOptions, type BenchOptions } from '../harness/run/options.ts'
import { PlacementError, pinSelf, planPlacement } from '../harness/processes/placement.ts'
import { chooseGeneratorProcesses } from '../harness/run/generator-count.ts'
import { withBaseline } from '../harness/processes/baseline.ts'
import { listCells, planSuite, renderPlan } from '../harness/run/plan.ts'
import { checkGenerator } from '../harness/load/wrk.ts'
import { redisServerVersion } from '../harness/processes/redis-server.ts'
import { redactUrls, runSuite, type RunHooks } from '../harness/run/run.ts'
import type { CpuPlacement, RunResults } from '../harness/results/results.ts'
import { gitSha } from '../harness/measure/machine.ts'
import { verdictsWithMargins } from '../report/verdict-margins.ts'
import { cellFlags, invariantViolations, isMeasured, metricOf } from '../report/model.ts'
import { renderTerminal, wrap } from '../report/terminal.ts'
import { SCENARIOS, SCENARIO_NAMES } from '../scenarios/index.ts'
import { checkTargets, discoverStats, targetSet } from '../harness/processes/targets.ts'
import { ConfigError } from '../servers/config.ts'

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean)
const numberList = (v: string) => list(v).map((x) => {
  const n = Number(x)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`'${x}' is not a positive integer`)
  return n
})
const shardOf = (v: string) => {
  const m = /^(\d+)\/(\d+)$/.exec(v)
  if (!m) throw new InvalidArgumentError(`'${v}' is not i/n (e.g. 0/2)`)
  return { index: Number(m[1]), count: Number(m[2]) }
}
const processesOf = (v: string): number | 'auto' => (v === 'auto' ? 'auto' : number(v))
const number = (v: string) => {
  const n = Number(v)
  if (!Number.isFinite(n)) throw new InvalidArgumentError('not a number')
  return n
}

/** The command line, with its help; a bad option exits 2 with one line. */
function parseArgs() {
  const d = BENCH_DEFAULTS
  const program = new Command('authbench')
    .description('benchmark web authentication strategies (sessions, JWTs and hybrids) under identical load')
    .option('--strategies <list>', `comma-separated strategies (default: all seven)`, list)
    .option('--scenarios <list>', `comma-separated scenarios: ${SCENARIO_NAMES.join(', ')} (default: all)`, list)
    .option('--profile <list>', `library profiles: defaults, tuned, floor (default: ${d.profiles.join(',')})`, list)
    .option('--alg <list>', `JWT algorithms: HS256, RS256, ES256, EdDSA (default: ${d.algs.join(',')})`, list)
    .option('--duration <sec>', `measured seconds per cell and repeat (default: ${d.durationSec})`, number)
    .option('--window <sec>', `length of one /me or /health measurement window (default: ${d.windowSec})`, number)
    .option('--warmup <sec>', `unmeasured warm-up per path (default: ${d.warmupSec})`, number)
    .option('--connections <list>', `concurrency levels of the throughput sweep, e.g. 1,10,64 (default: ${d.connectionLevels.join(',')}); other scenarios use 10, or the one level given`, numberList)
    .addOption(new Option('--generator <name>', `load generator for throughput (default: ${d.generator})`).choices(['autocannon', 'wrk']))
    .option('--cross-check', 'after each throughput cell, measure it briefly with the other generator and flag a > 10 % disagreement')
    .option('--instances <list>', `server instances per cell (default: ${d.instances}); several (1,2,4,8): a scale-out sweep of throughput, each instance on a core of its own`, numberList)
    .option('--repeats <n>', `repeats per throughput cell, interleaved (default: ${d.repeats})`, number)
    .option('--metrics-repeats <n>', `repeats per cell of the other scenarios (default: ${d.metricsRepeats})`, number)
    .option('--users <n>', `distinct logged-in users (default: ${d.users})`, number)
    .addOption(new Option('--balancer <kind>', `balancer for --instances > 1 (default: ${d.balancer})`).choices(['auto', 'haproxy', 'nginx', 'none']))
    .option('--no-pin', 'do not pin generator and servers to separate cores')
    .option('--target <urls>', 'target mode: run against servers you started (a balancer URL, or instance URLs), naming their strategy, profile and algorithm', list)
    .option('--target-stats <urls>', 'the targets\' stats endpoints (each instance started with --stats-port), for server-side CPU and bytes', list)
    .option('--generator-processes <n|auto>', 'autocannon processes driving each throughput window together, one core each, merged exactly; auto: as many as a short pilot shows the servers need to saturate first (default: auto)', processesOf)
    .option('--shard <i/n>', 'target mode: this run is load generator i of n (users and connections shared, windows started together via AUTHBENCH_RENDEZVOUS_URL); npm run merge joins them', shardOf)
    .option('--run-id <id>', 'what the shards of one run share (rendezvous keys, merge check)')
    .option('--baseline <ref>', 'A/B in one run: build that git ref\'s (or folder\'s) servers too and measure both versions in the same cells, windows alternating; then npm run compare -- <run>')
    .option('--calibrate [µs]', 'plant a known CPU cost in one strategy\'s GET /me (default: ≈ 6 % of its CPU per /me, measured in a pilot) and report planted against recovered: the harness\'s own accuracy', number)
    .option('--out <dir>', `results folder (default: ${d.out})`)
    .option('--quick', 'the whole suite as a short smoke run (one repeat, short windows)')
    .option('--plan', 'print the cells that would run and the estimated time, and run nothing')
    .option('--json', 'at the end, print a machine-readable summary (verdicts, headline metrics, files) instead of tables')
    .configureOutput({ writeErr: (s) => process.stderr.write(`authbench: ${s.replace(/^error: /, '')}`) })
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  program.parse()
  return program.opts()
}

/** The options in force (defaults in harness/run/options.ts), or null after a one-line error. */
function resolveOptions(o: ReturnType<typeof parseArgs>): Readonly<BenchOptions> | null {
  try {
    const options = resolveBenchOptions({
      strategies: o.strategies, scenarios: o.scenarios, profiles: o.profile, algs: o.alg,
      durationSec: o.duration, windowSec: o.window, warmupSec: o.warmup, connectionLevels: o.connections,
      connections: o.connections === undefined ? undefined : o.connections.includes(10) ? 10 : o.connections.length === 1 ? o.connections[0] : Math.min(...o.connections),
      generator: o.generator, crossCheck: o.crossCheck,
      instances: o.instances?.[0], instanceSweep: o.instances && o.instances.length > 1 ? o.instances : undefined, repeats: o.repeats, metricsRepeats: o.metricsRepeats, users: o.users, balancer: o.balancer, pin: o.pin,
      out: o.out, quick: o.quick, targets: o.target, targetStats: o.targetStats, shard: o.shard, runId: o.runId, generatorProcesses: o.generatorProcesses === 'auto' ? undefined : o.generatorProcesses,
      baseline: o.baseline,
      calibrateMicros: o.calibrate === undefined ? undefined : o.calibrate === true ? 'auto' : o.calibrate,
    } as Partial<BenchOptions>, SCENARIO_NAMES)
    checkGenerator(options)
    return options
  } catch (err) {
    if (!(err instanceof OptionError)) throw err
    process.stderr.write(`authbench: ${err.message}\n`)
    return null
  }
}

/**
 * Target mode's preflight: stats endpoints discovered (`dns+http://`), every target answering, the
 * stats token accepted, a rendezvous for shards. The options to run with, or the problem in one line.
 */
async function preflight(options: Readonly<BenchOptions>): Promise<Readonly<BenchOptions> | string> {
  if (options.targets.length === 0) return options
  if ((options.shard?.count ?? 1) > 1 && !process.env.AUTHBENCH_RENDEZVOUS_URL) return '--shard: set AUTHBENCH_RENDEZVOUS_URL to a Redis every shard reaches (where they agree when each window starts)'
  if ((options.shard?.count ?? 1) > 1 && process.env.AUTHBENCH_RENDEZVOUS_URL === process.env.REDIS_URL) return '--shard: AUTHBENCH_RENDEZVOUS_URL must be a Redis of its own, not REDIS_URL\'s (its polling would count among the targets\' Redis commands)'
  let stats: string[]
  try {
    stats = await discoverStats(options.targetStats)
  } catch (err) {
    return `--target-stats: ${(err as Error).message}`
  }
  const resolved = Object.freeze({ ...options, targetStats: stats })
  try {
    return (await checkTargets(targetSet(resolved.targets, resolved.targetStats))) ?? resolved
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return err.message
  }
}

/** Where the generator(s), servers and Redis run, or why this machine cannot place them as asked (one line). */
function placementFor(options: Readonly<BenchOptions>, generatorNote: string | null): CpuPlacement | string {
  let planned: CpuPlacement
  try {
    planned = planPlacement(options.pin, options.generatorProcesses)
  } catch (err) {
    if (err instanceof PlacementError) return err.message
    throw err
  }
  // target mode: only the generator is placed here; the targets run where they were started
  const note = options.targets.length > 0 && planned.method === 'taskset'
    ? `target mode: the load generator on core ${planned.generatorCpus.join(',')}; the targets (${options.targets.join(', ')}) run where they were started`
    : planned.note
  return { ...planned, note: generatorNote ? `${note}; ${generatorNote}` : note }
}

/** --plan: the cells that would run (and those skipped, with why) and the estimated time. */
function printPlan(options: Readonly<BenchOptions>): void {
  const redisNote = process.env.REDIS_URL || redisServerVersion() ? null : 'redis-server not found (apt-get install -y redis-server) and no REDIS_URL'
  const { run, skipped } = listCells(options, SCENARIOS, redisNote)
  const scenarios = SCENARIOS.filter((s) => options.scenarios.includes(s.name))
  process.stdout.write(renderPlan(planSuite(options, scenarios, run), skipped) + '\n')
}

/** Ctrl-C or SIGTERM stops the run properly; another one 2 s or more later kills everything at once. */
function handleSignals(controller: AbortController, force: AbortController, bar: cliProgress.SingleBar | null): void {
  const interrupt = interruptPolicy()
  const onSignal = (sig: string) => {
    const action = interrupt()
    if (action === 'stop') {
      process.stderr.write(`\nauthbench: ${sig}: stopping; keeping every finished result and stopping every process… (Ctrl-C again, ${FORCE_AFTER_MS / 1000} s or more later, to force)\n`)
      controller.abort(new Error(`interrupted by ${sig}`))
    } else if (action === 'force') {
      bar?.stop()
      process.stderr.write(`authbench: ${sig} again: killing every process and exiting\n`)
      force.abort() // synchronous: kills the children and saves results.json as interrupted
      process.exit(130)
    }
  }
  process.on('SIGINT', () => onSignal('SIGINT'))
  process.on('SIGTERM', () => onSignal('SIGTERM'))
}

/** Progress: a bar on a terminal, else one line per cell and repeat. */
function progressReporter(bar: cliProgress.SingleBar | null): NonNullable<RunHooks['onProgress']> {
  let started = false
  let lastCell = ''
  return (p) => {
    const payload = { cell: p.cell.id, repeat: p.repeat, repeats: p.repeats, status: p.status ?? '' }
    if (bar) {
      if (!started) { bar.start(Math.max(1, Math.round(p.totalSec)), 0, payload); started = true }
      bar.update(Math.round(p.doneSec), payload)
    } else if (`${p.cell.id}#${p.repeat}` !== lastCell) {
      lastCell = `${p.cell.id}#${p.repeat}`
      const eta = Math.max(0, Math.round(p.totalSec - p.doneSec))
      process.stdout.write(`authbench: [${Math.round((100 * p.doneSec) / Math.max(1, p.totalSec))}%] ${p.cell.id} repeat ${p.repeat}/${p.repeats} (ETA ${eta} s)\n`)
    }
  }
}

/** The reading side, from what finished (also after Ctrl-C): the report files, the summary, the exit code. */
async function report(runDir: string, results: RunResults, json: boolean): Promise<number> {
  // Loaded only now: its charting packages (vega) would add ≈ 40 MB to this process for the whole
  // run, and every process the run starts is a fork of it (measured idle: the synchronous part of a
  // spawn 7.7–8.3 ms without them, 9.0–11.2 ms with them)
  const { writeReport } = await import('../report/index.ts')
  const files = await writeReport(runDir, SCENARIOS, results)
  const violations = results.cells.flatMap((c) => invariantViolations(c, SCENARIOS.find((s) => s.name === c.scenario)))
  if (json) {
    process.stdout.write(JSON.stringify(jsonSummary(results, files, violations), null, 2) + '\n')
  } else {
    process.stdout.write('\n' + renderTerminal({ results, scenarios: SCENARIOS }, files) + '\n')
    for (const v of violations) process.stdout.write(wrap(`✗ invariant violated: ${v}`, '    ') + '\n')
    process.stdout.write(`authbench: ${results.status}; results in ${join(runDir, 'results.json')}\n`)
  }
  if (results.status === 'interrupted') return 130
  return results.cells.some((c) => c.state === 'failed') || violations.length > 0 ? 1 : 0
}

async function main(): Promise<number> {
  // A closed pipe (e.g. `npm run bench | head`) must not kill the run before it saves and tears down.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
  const o = parseArgs()
  let options = resolveOptions(o)
  if (options === null) return 2
  if (o.plan) {
    printPlan(options)
    return 0
  }
  const built = withBaseline(options, (w) => process.stderr.write(`${wrap(`authbench: warning: ${w}`, '    ')}\n`))
  if (typeof built === 'string') {
    process.stderr.write(`authbench: ${built}\n`)
    return 2
  }
  const ready = await preflight(built)
  if (typeof ready === 'string') {
    process.stderr.write(`authbench: ${ready}\n`)
    return 2
  }
  options = ready
  let generatorNote: string | null = null
  if (o.generatorProcesses === undefined || o.generatorProcesses === 'auto') {
    const choice = await chooseGeneratorProcesses(options)
    options = Object.freeze({ ...options, generatorProcesses: choice.processes })
    generatorNote = choice.note
  }

  const placement = placementFor(options, generatorNote)
  if (typeof placement === 'string') {
    process.stderr.write(`authbench: ${placement}\n`)
    return 2
  }
  pinSelf(placement)
  const runDir = claimRunDir(options.out, runDirName(gitSha()))
  const bar = process.stdout.isTTY === true
    ? new cliProgress.SingleBar({ format: '{bar} {percentage}% | {cell} | repeat {repeat}/{repeats} | {status} | ETA {eta_formatted}', etaBuffer: 20, hideCursor: true }, cliProgress.Presets.shades_classic)
    : null
  const controller = new AbortController()
  const force = new AbortController()
  handleSignals(controller, force, bar)
  const what = [
    options.scenarios.join(', '), `${options.strategies.length} strategies`, `profiles ${options.profiles.join(',')}`, `${options.repeats} repeat(s) × ${options.durationSec} s`,
    `connections ${options.connectionLevels.join(',')} (throughput), ${options.connections} (others)`, `generator ${options.generator}${options.crossCheck ? ' + cross-check' : ''}`, placement.note,
  ]
  process.stdout.write(wrap(`authbench: ${what.join(' · ')}`, '    ') + '\n')
  process.stdout.write(`authbench: results → ${join(runDir, 'results.json')}\n`)
  const results = await runSuite(options, {
    runDir,
    signal: controller.signal,
    force: force.signal,
    placement,
    command: process.argv.slice(2),
    scenarios: SCENARIOS,
    onProgress: progressReporter(bar),
    onWarning: (w) => { if (!bar) process.stderr.write(wrap(`authbench: warning: ${w}`, '    ') + '\n') },
  }).finally(() => bar?.stop())
  return report(runDir, results, o.json === true)
}

/** What `--json` prints: the verdicts, every cell's state, flags and headline metrics, and the files. */
function jsonSummary(results: RunResults, files: Record<string, string>, violations: string[]) {
  return {
    status: results.status,
    runDir: dirname(files.html!),
    files,
    verdicts: verdictsWithMargins(results).map(({ id, claim, verdict, condition, margin }) => ({ id, claim, verdict, condition, margin: margin.text, fragile: margin.fragile })),
    invariantViolations: violations,
    cells: results.cells.map((c) => {
      const scenario = SCENARIOS.find((s) => s.name === c.scenario)
      const headline = Object.fromEntries((scenario?.metrics ?? []).filter((d) => d.headline && !d.name.endsWith('*')).map((d) => [d.name, metricOf(c, d.name)?.median ?? null]))
      return { id: c.id, state: c.state, flags: cellFlags(c, scenario), ...(isMeasured(c) ? { headline } : {}), ...(c.state === 'failed' ? { error: c.error } : c.state !== 'completed' ? { reason: c.reason } : {}) }
    }),
    warnings: results.warnings,
  }
}

main().then((code) => process.exit(code), (err: Error) => {
  process.stderr.write(`authbench: ${redactUrls(err.message)}\n`)
  process.exit(1)
})
