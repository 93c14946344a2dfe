/**
 * `npm run profile -- --strategy <s> [--profile p] [--alg A] [--path /me] [--duration 10] [--tool cpu|flame|doctor]`:
 * where a strategy's microseconds go. Starts one instance (from the sources, so that every frame
 * names its file) under the profiler, drives it with the harness's own load — the same population
 * and credential headers as throughput — on the path and then on the /health baseline, and writes
 * into results/<run>/profiles/ the V8 CPU profile (.cpuprofile: Chrome DevTools, speedscope) and a
 * table of CPU µs per request by package, for the path and for the baseline: their difference is
 * what the auth path adds, by package.
 * `--tool flame|doctor` runs the instance under clinic (optional, installed on its own into
 * tools/clinic/ by `npm run clinic:install`) with the same login population and load on the path,
 * and moves clinic's HTML into the same folder.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, InvalidArgumentError } from 'commander'
import { attribute, type Attribution, type CpuProfile } from '../harness/measure/cpuprofile.ts'
import { runLoad } from '../harness/load/load.ts'
import { gitSha } from '../harness/measure/machine.ts'
import { claimRunDir, runDirName } from '../harness/run/run-dir.ts'
import { BENCH_DEFAULTS } from '../harness/run/options.ts'
import { Orchestrator } from '../harness/processes/orchestrator.ts'
import { pinSelf, planPlacement } from '../harness/processes/placement.ts'
import { connectionPlans, loginPopulation } from '../harness/load/population.ts'
import { BASELINE_PATH } from '../servers/app.ts'
import { JWT_ALGORITHMS, PROFILES, STRATEGY_NAMES, type JwtAlgorithm, type StrategyName } from '../servers/config.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { isOwned } from '../harness/processes/instances.ts'

const TOOLS = ['cpu', 'flame', 'doctor'] as const
const WARMUP_SEC = 2
/** clinic, where `npm run clinic:install` puts it (it is not a dependency of authbench); AUTHBENCH_CLINIC overrides the path. */
const CLINIC_BIN = process.env.AUTHBENCH_CLINIC || fileURLToPath(new URL('../tools/clinic/node_modules/.bin/clinic', import.meta.url))
/** How long clinic may take, once the server has stopped, to analyse what it collected and write its HTML. */
const CLINIC_ANALYSIS_TIMEOUT_MS = 180_000

class UsageError extends Error {}

function oneOf<T extends string>(what: string, allowed: readonly T[]) {
  return (v: string): T => {
    if (!(allowed as readonly string[]).includes(v)) throw new InvalidArgumentError(`unknown ${what} '${v}' (expected: ${allowed.join(', ')})`)
    return v as T
  }
}
function positive(v: string): number {
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0 || n > 600) throw new InvalidArgumentError('must be a number of seconds between 0 and 600')
  return n
}

const hrMicros = () => Number(process.hrtime.bigint() / 1000n)

type ProfileOptions = { strategy: StrategyName; profile: string; alg: JwtAlgorithm; path: string; duration: number; connections: number; users: number; tool: typeof TOOLS[number]; out: string }

/** The command line, checked (a bad option: one line and exit code 2). */
function parseOptions(): ProfileOptions {
  const program = new Command('authbench-profile')
    .description('profile one strategy under the harness\'s load: CPU µs per request by package, and the .cpuprofile')
    .requiredOption('--strategy <name>', `strategy: ${STRATEGY_NAMES.join(', ')}`, oneOf('strategy', STRATEGY_NAMES))
    .option('--profile <p>', `library profile: ${PROFILES.join(', ')}`, oneOf('profile', PROFILES), 'tuned')
    .option('--alg <a>', `JWT algorithm: ${JWT_ALGORITHMS.join(', ')}`, oneOf('algorithm', JWT_ALGORITHMS), 'HS256')
    .option('--path <path>', 'the path to profile', '/me')
    .option('--duration <sec>', 'seconds of load on the path, and again on the baseline', positive, 10)
    .option('--connections <n>', 'concurrent connections', (v) => Math.max(1, Math.round(positive(v))), 10)
    .option('--users <n>', 'distinct logged-in users the load cycles through', (v) => Math.round(positive(v)), BENCH_DEFAULTS.users)
    .option('--tool <tool>', 'cpu (V8 profile and table), flame or doctor (clinic)', oneOf('tool', TOOLS), 'cpu')
    .option('--out <dir>', 'folder of run folders', BENCH_DEFAULTS.out)
    .configureOutput({ writeErr: (s) => process.stderr.write(`authbench profile: ${s.replace(/^error: /, '')}`) })
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  program.parse()
  const o = program.opts<ProfileOptions>()
  if (!STRATEGIES[o.strategy].profiles.includes(o.profile as never)) throw new UsageError(`${o.strategy} has no '${o.profile}' profile (it has: ${STRATEGIES[o.strategy].profiles.join(', ')})`)
  if (o.tool !== 'cpu' && !existsSync(CLINIC_BIN)) {
    throw new UsageError(`--tool ${o.tool} needs clinic, which is optional: npm run clinic:install (clinic@13 into tools/clinic/, ≈ 690 packages); --tool cpu works without it`)
  }
  return o
}

async function main(): Promise<number> {
  const o = parseOptions()
  const runDir = claimRunDir(o.out, `${runDirName(gitSha())}-profile`)
  const dir = join(runDir, 'profiles')
  mkdirSync(dir, { recursive: true })
  const placement = planPlacement(true)
  pinSelf(placement)
  const orchestrator = new Orchestrator(placement, process.env.REDIS_URL || null)
  const label = `${o.strategy}-${o.profile}-${o.alg}`
  try {
    return o.tool === 'cpu' ? await cpuProfile(o, orchestrator, dir, label) : await clinic(o.tool, o, orchestrator, dir, label)
  } finally {
    await orchestrator.teardown()
  }
}

/** Load on the path, then on the baseline, under V8's CPU profiler; the profile attributed by package per request. */
async function cpuProfile(o: ProfileOptions, orchestrator: Orchestrator, dir: string, label: string): Promise<number> {
  const env = await orchestrator.startEnv({
    strategy: o.strategy, profile: o.profile, alg: o.alg, instances: 1, balancer: 'none', fromSources: true,
    // every thread writes its own profile (tsx's loader runs in a worker): the main thread's is CPU.<date>.<time>.<pid>.0.<n>
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  })
  const inst = env.instances[0]!
  if (!isOwned(inst)) throw new Error('profile needs a server it started')
  process.stdout.write(`authbench profile: ${label}, logging in ${o.users} users\n`)
  const creds = await loginPopulation(env.urls, o.users)
  const plans = { path: connectionPlans(env.urls, creds, o.connections, o.path), baseline: connectionPlans(env.urls, creds, o.connections, BASELINE_PATH) }
  process.stdout.write(`authbench profile: warming up ${WARMUP_SEC} s per path, then ${o.duration} s on ${o.path} and ${o.duration} s on ${BASELINE_PATH}\n`)
  for (const p of [plans.path, plans.baseline]) await runLoad({ connections: p, durationSec: WARMUP_SEC })
  const phase = async (plan: typeof plans.path) => {
    const before = await inst.stats()
    const from = hrMicros()
    await runLoad({ connections: plan, durationSec: o.duration })
    const to = hrMicros()
    const after = await inst.stats()
    const requests = after.requestsTotal - before.requestsTotal
    return { from, to, requests, cpuMicrosPerRequest: (after.cpuUserMicros + after.cpuSystemMicros - before.cpuUserMicros - before.cpuSystemMicros) / Math.max(1, requests) }
  }
  const onPath = await phase(plans.path)
  const onBaseline = await phase(plans.baseline)
  await env.stop() // the profile is written as the server exits
  const file = keepMainThreadProfile(dir, inst.pid, label)
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const a = attribute(profile, onPath.from, onPath.to, onPath.requests)
  const b = attribute(profile, onBaseline.from, onBaseline.to, onBaseline.requests)
  const attribution = join(dir, `${label}.attribution.json`)
  writeFileSync(attribution, JSON.stringify({ strategy: o.strategy, profile: o.profile, alg: o.alg, path: o.path, baseline: BASELINE_PATH, connections: o.connections, users: o.users, durationSec: o.duration, onPath: { ...onPath, byCategory: Object.fromEntries(a.byCategory) }, onBaseline: { ...onBaseline, byCategory: Object.fromEntries(b.byCategory) } }, null, 2) + '\n')
  process.stdout.write('\n' + renderAttribution(o.path, a, onPath.cpuMicrosPerRequest, b, onBaseline.cpuMicrosPerRequest) + '\n\n')
  process.stdout.write(`profile: ${file}\n         ${attribution}\n`)
  return 0
}

/** The server's main-thread profile, renamed `<label>.cpuprofile`; the other threads' (tsx's loader: idle) removed. */
function keepMainThreadProfile(dir: string, pid: number, label: string): string {
  const written = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
  const main = written.find((f) => f.includes(`.${pid}.0.`))
  if (!main) throw new Error(`the server wrote no profile of its main thread (${written.join(', ') || 'nothing'} in ${dir})`)
  const file = join(dir, `${label}.cpuprofile`)
  renameSync(join(dir, main), file)
  for (const f of written.filter((f) => f !== main)) rmSync(join(dir, f))
  return file
}

/** The terminal table: one row per package or kind, µs per request on the path, on the baseline, and the difference. */
export function renderAttribution(path: string, onPath: Attribution, pathServerMicros: number, onBaseline: Attribution, baselineServerMicros: number): string {
  const cats = [...new Set([...onPath.byCategory.keys(), ...onBaseline.byCategory.keys()])]
  const rows = cats.map((c) => [c, onPath.byCategory.get(c) ?? 0, onBaseline.byCategory.get(c) ?? 0] as const).sort((x, y) => (y[1] - y[2]) - (x[1] - x[2]))
  const f = (n: number) => n.toFixed(2).padStart(9)
  const lines = [
    `CPU µs per request, by where the profiler found it (${onPath.requests} requests on ${path}, ${onBaseline.requests} on ${BASELINE_PATH})`,
    `${'package / kind'.padEnd(30)} ${path.padStart(9)} ${BASELINE_PATH.padStart(9)} ${'added'.padStart(9)}`,
    ...rows.map(([c, p, b]) => `${c.padEnd(30)} ${f(p)} ${f(b)} ${f(p - b)}`),
    `${'total (profiler samples)'.padEnd(30)} ${f(onPath.totalMicrosPerRequest)} ${f(onBaseline.totalMicrosPerRequest)} ${f(onPath.totalMicrosPerRequest - onBaseline.totalMicrosPerRequest)}`,
    `${'total (process.cpuUsage)'.padEnd(30)} ${f(pathServerMicros)} ${f(baselineServerMicros)} ${f(pathServerMicros - baselineServerMicros)}`,
    'The profiler samples JavaScript and V8 work every ~1 ms; process.cpuUsage also counts kernel time (sockets), which no sample names.',
  ]
  return lines.join('\n')
}

/**
 * clinic flame / doctor: the instance runs under clinic (NO_INSIGHT: it asks nothing, sends
 * nothing), gets the same population and load on the path as `--tool cpu`, then a SIGINT to its
 * process group (clinic and the server), as a terminal's Ctrl-C; clinic then analyses what it
 * collected and writes its HTML, which lands beside the other profiles.
 */
async function clinic(tool: 'flame' | 'doctor', o: { strategy: StrategyName; profile: string; alg: JwtAlgorithm; path: string; duration: number; connections: number; users: number }, orchestrator: Orchestrator, dir: string, label: string): Promise<number> {
  process.env.NO_INSIGHT = 'true'
  const env = await orchestrator.startEnv({
    strategy: o.strategy, profile: o.profile, alg: o.alg, instances: 1, balancer: 'none',
    // from the sources, as --tool cpu: every frame names its file, and flame tells dependencies from our code
    fromSources: true,
    runUnder: [CLINIC_BIN, tool, '--open=false', `--dest=${dir}`, '--'],
  })
  const inst = env.instances[0]!
  if (!isOwned(inst)) throw new Error('profile needs a server it started')
  process.stdout.write(`authbench profile: ${label} under clinic ${tool}, logging in ${o.users} users\n`)
  const creds = await loginPopulation(env.urls, o.users)
  const plan = connectionPlans(env.urls, creds, o.connections, o.path)
  process.stdout.write(`authbench profile: warming up ${WARMUP_SEC} s, then ${o.duration} s on ${o.path}\n`)
  await runLoad({ connections: plan, durationSec: WARMUP_SEC })
  await runLoad({ connections: plan, durationSec: o.duration })
  process.stdout.write(`authbench profile: stopping the server; clinic ${tool} is analysing (this takes a while)\n`)
  const clinicProcess = inst.process
  const exited = new Promise<number | null>((resolve) => {
    if (clinicProcess.exitCode !== null) return resolve(clinicProcess.exitCode)
    const timer = setTimeout(() => resolve(null), CLINIC_ANALYSIS_TIMEOUT_MS)
    clinicProcess.once('exit', (code) => { clearTimeout(timer); resolve(code) })
  })
  // as a terminal's Ctrl-C does: to clinic and the server alike (clinic flame does not relay it), then clinic analyses
  try { process.kill(-clinicProcess.pid!, 'SIGINT') } catch { clinicProcess.kill('SIGINT') }
  const code = await exited
  if (code === null) throw new Error(`clinic ${tool} did not finish within ${CLINIC_ANALYSIS_TIMEOUT_MS / 1000} s: ${inst.log().trim().split('\n').pop() ?? ''}`)
  const html = readdirSync(dir).find((f) => f.endsWith(`.clinic-${tool}.html`))
  if (code !== 0 || html === undefined) throw new Error(`clinic ${tool} wrote no HTML (exit code ${code}): ${inst.log().trim().split('\n').slice(-3).join(' | ')}`)
  const file = join(dir, `${label}.clinic-${tool}.html`)
  renameSync(join(dir, html), file)
  process.stdout.write(`profile: ${file}\n`)
  return 0
}

main().then((code) => process.exit(code), (err: Error) => {
  process.stderr.write(`authbench profile: ${err.message}\n`)
  process.exit(err instanceof UsageError ? 2 : 1)
})
