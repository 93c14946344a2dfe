import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { constants, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { detectBalancer } from '../harness/processes/balancer.ts'
import { FORCE_AFTER_MS, interruptPolicy } from '../harness/run/interrupt.ts'
import { resolveBenchOptions } from '../harness/run/options.ts'
import { markedOwner, PID_FILE, processStart, type PidFileContent } from '../harness/processes/pidfile.ts'
import { freePort } from '../harness/processes/ports.ts'
import { claimRunDir, runDirName } from '../harness/run/run-dir.ts'
import type { CpuPlacement, RunResults } from '../harness/results/results.ts'
import { runSuite } from '../harness/run/run.ts'
import { SCENARIO_NAMES } from '../scenarios/index.ts'
import { throughput } from '../scenarios/throughput.ts'
import type { Scenario } from '../harness/run/scenario.ts'

const ROOT = join(import.meta.dirname, '..')
const noPin: CpuPlacement = { method: 'none', generatorCpus: [], serverCpus: [], redisCpus: [], note: 'tests do not pin' }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Alive and not a zombie (a killed child nobody has reaped yet is dead for our purposes). */
const alive = (pid: number) => processStart(pid) !== null
/** A temporary folder, removed when the test finishes. */
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** `npm run bench -- <args>` exactly as a user types it, in a process group of its own (as a terminal would give it). */
function npmBench(args: string[], env: Record<string, string> = {}) {
  const out = tempDir('authbench-lifecycle-')
  const child = spawn('npm', ['run', 'bench', '--', '--out', out, ...args], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  })
  let output = ''
  child.stdout!.on('data', (d) => { output += d })
  child.stderr!.on('data', (d) => { output += d })
  // the exit status a shell would report ($?): 128 + n when npm itself died of signal n
  const exited = new Promise<number | null>((r) => child.on('exit', (code, signal) => r(code ?? (signal ? 128 + constants.signals[signal] : null))))
  onTestFinished(() => { if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL') })
  const runDir = () => {
    const dirs = existsSync(out) ? readdirSync(out) : []
    return dirs[0] ? join(out, dirs[0]) : null
  }
  const results = (): RunResults | null => {
    const dir = runDir()
    try { return dir ? (JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResults) : null } catch { return null }
  }
  const waitFor = async (what: string, ok: (r: RunResults) => boolean) => {
    const deadline = Date.now() + 60_000
    for (let r = results(); !r || !ok(r); r = results()) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${what} never happened: ${output}`)
      await sleep(25)
    }
  }
  return { child, exited, out, runDir, results, waitFor, output: () => output }
}

const SHORT = ['--scenarios', 'throughput', '--quick', '--duration', '30'] // a cell that outlasts every trial

/** Interrupts a run of `npm run bench` with `signal` sent to its whole process group, `delayMs` after a cell started. */
async function interruptTrial(signal: 'SIGINT' | 'SIGTERM', delayMs: number, strategy = 'jwt') {
  const b = npmBench([...SHORT, '--strategies', strategy])
  await b.waitFor('a running cell', (r) => r.processes.length > 0)
  await sleep(delayMs)
  process.kill(-b.child.pid!, signal)
  const code = await b.exited
  const r = b.results()!
  return { code, status: r.status, cells: r.cells.map((c) => c.state), left: r.processes.map((p) => p.pid).filter(alive), output: b.output(), pidFileLeft: existsSync(join(b.runDir()!, PID_FILE)) }
}

describe('run folders', () => {
  it('two runs started in the same second at the same commit get folders of their own', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'authbench-runs-')), 'results')
    const name = runDirName('0123456789abcdef', new Date(2026, 10, 28, 9, 5, 7))
    expect(name).toBe('20261128-090507-0123456')
    const first = claimRunDir(out, name)
    const second = claimRunDir(out, name)
    const third = claimRunDir(out, name)
    expect([first, second, third].map((d) => d.slice(out.length + 1))).toEqual([name, `${name}-2`, `${name}-3`])
    for (const d of [first, second, third]) expect(statSync(d).isDirectory()).toBe(true)
  })
})

describe('Ctrl-C and SIGTERM end a run properly', () => {
  it('a Ctrl-C to the whole process group of npm run bench (10 trials at different moments) saves the run as interrupted, stops every process, exits 130', async () => {
    // The terminal signals npm and the harness alike, and npm forwards its copy: the harness sees two.
    // Two runs at a time, each in its own process group, to keep the test short.
    const delaysMs = [0, 100, 250, 400, 600, 800, 1000, 1300, 1600, 2000]
    for (let i = 0; i < delaysMs.length; i += 2) {
      const pair = await Promise.all([interruptTrial('SIGINT', delaysMs[i]!, 'jwt'), interruptTrial('SIGINT', delaysMs[i + 1]!, 'memory-session')])
      for (const [n, t] of pair.entries()) {
        expect(t, `Ctrl-C ${delaysMs[i + n]} ms into the cell:\n${t.output}`).toMatchObject({ code: 130, status: 'interrupted', left: [], pidFileLeft: false })
        expect(t.cells).toEqual(['partial'])
        expect(t.output).not.toMatch(/failed: /) // no server died under the running cell before the harness stopped it
      }
    }
  }, 240_000)

  it('SIGTERM to the process group (a CI runner cancelling the job) ends it the same way, Redis included', async () => {
    const t = await interruptTrial('SIGTERM', 300, 'redis-session')
    expect(t, t.output).toMatchObject({ code: 130, status: 'interrupted', left: [], pidFileLeft: false })
  }, 60_000)

  it('takes signals within the grace period of the first as copies of it, and only a later one as a forced stop', () => {
    let nowMs = 0
    const next = interruptPolicy(FORCE_AFTER_MS, () => nowMs)
    expect(next()).toBe('stop')
    nowMs = 5
    expect(next()).toBe('ignore') // npm's forwarded copy
    nowMs = FORCE_AFTER_MS - 1
    expect(next()).toBe('ignore')
    nowMs = FORCE_AFTER_MS + 10
    expect(next()).toBe('force')
  })

  it('a forced stop kills every process and saves the run as interrupted before it returns, even when the cell ignores the stop', async () => {
    let started!: () => void
    const running = new Promise<void>((r) => { started = r })
    const stuck: Scenario = { ...throughput, runRepeat: () => { started(); return new Promise(() => {}) } } // never ends
    const stop = new AbortController()
    const force = new AbortController()
    const options = resolveBenchOptions({ quick: true, scenarios: ['throughput'], strategies: ['redis-session'], pin: false }, SCENARIO_NAMES)
    const runDir = join(tempDir('authbench-force-'), 'run')
    void runSuite(options, { runDir, signal: stop.signal, force: force.signal, placement: noPin, command: ['test'], scenarios: [stuck] })
    await running
    stop.abort()
    const read = () => JSON.parse(readFileSync(join(runDir, 'results.json'), 'utf8')) as RunResults
    const pids = read().processes.map((p) => p.pid)
    expect(pids.length).toBe(2) // redis-server and the server
    expect(pids.filter(alive)).toEqual(pids)
    force.abort()
    expect(pids.filter(alive)).toEqual([])
    expect(read()).toMatchObject({ status: 'interrupted', cells: [{ state: 'partial' }] })
    expect(existsSync(join(runDir, PID_FILE))).toBe(false)
  })
})

/** Every process below `root` now, with its parent and identity. */
function descendants(root: number): Array<{ pid: number; ppid: number; start: string; name: string }> {
  const parent = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch { /* gone */ }
  }
  const below = (pid: number): boolean => pid === root || (parent.has(pid) && pid !== 1 && below(parent.get(pid)!))
  return [...parent.keys()].filter(below).flatMap((pid) => {
    const start = processStart(pid)
    let name = ''
    try { name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim() } catch { /* gone */ }
    return start ? [{ pid, ppid: parent.get(pid)!, start, name }] : []
  })
}

describe('nothing outlives the harness', () => {
  const lb = detectBalancer()
  it.runIf(process.platform === 'linux' && lb !== null)(`when the harness is SIGKILLed, its redis-server, balancer and servers stop too${lb ? '' : ' (SKIPPED: no haproxy or nginx installed)'}`, async () => {
    const b = npmBench([...SHORT, '--strategies', 'redis-session', '--instances', '2'])
    await b.waitFor('redis, two servers and the balancer', (r) => r.processes.filter((p) => p.role === 'server').length === 2 && r.processes.some((p) => p.role === 'balancer'))
    const recorded = b.results()!.processes
    const harness = descendants(b.child.pid!).find((p) => p.pid === recorded.find((r) => r.role === 'redis')!.pid)!.ppid // whoever started redis-server
    const started = descendants(harness).filter((p) => p.pid !== harness)
    const names = started.map((p) => p.name)
    expect(names).toContain('redis-server')
    expect(names).toContain(lb!.kind)
    expect(names.filter((n) => n === 'node').length).toBeGreaterThanOrEqual(2) // the two servers
    for (const p of recorded) expect(started.map((t) => t.pid)).toContain(p.pid)
    // each holds the run's ownership marker, naming this harness: what lets a later run prove it may stop it
    const pidFile = JSON.parse(readFileSync(join(b.runDir()!, PID_FILE), 'utf8')) as PidFileContent
    for (const p of recorded) expect(markedOwner(p.pid, b.runDir()!), `${p.role} ${p.pid}`).toEqual(pidFile.owner)
    process.kill(harness, 'SIGKILL') // the harness alone, as the OOM killer or kill -9 would
    const deadline = Date.now() + 5000
    const survivors = () => started.filter((p) => processStart(p.pid) === p.start)
    while (survivors().length > 0 && Date.now() < deadline) await sleep(50)
    expect(survivors().map((p) => `${p.name} ${p.pid}`)).toEqual([])
  }, 60_000)
})

describe('REDIS_URL with a password', () => {
  it('never prints the password nor writes it into the run folder', async () => {
    const url = `redis://:s3cretpw@127.0.0.1:${await freePort()}` // nothing listens there
    const b = npmBench(['--scenarios', 'throughput', '--quick', '--strategies', 'jwt-denylist'], { REDIS_URL: url })
    expect(await b.exited).toBe(0)
    expect(b.output()).toContain(url.replace('s3cretpw', '***'))
    expect(b.output()).not.toContain('s3cretpw')
    const files = readdirSync(b.out, { recursive: true, encoding: 'utf8' }).map((f) => join(b.out, f)).filter((f) => statSync(f).isFile())
    expect(files.some((f) => f.endsWith('results.json'))).toBe(true)
    for (const f of files) expect(readFileSync(f, 'utf8'), f).not.toContain('s3cretpw')
  }, 60_000)
})
