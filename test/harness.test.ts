import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { balancerVersion, detectBalancer } from '../harness/processes/balancer.ts'
import { loginUser } from '../harness/load/credentials.ts'
import { startInstance } from '../harness/processes/instances.ts'
import { runLoad, type LoadOutcome } from '../harness/load/load.ts'
import { Orchestrator, type CellEnv } from '../harness/processes/orchestrator.ts'
import { connectionPlans, loginPopulation } from '../harness/load/population.ts'
import { measureWindow, takeSample } from '../harness/measure/probes.ts'
import type { CpuPlacement, RunResults } from '../harness/results/results.ts'
import { connectionsClosed } from '../scenarios/common.ts'
import { BASELINE_PATH, HEALTH_BODY } from '../servers/app.ts'
import { validateResults } from './validate.ts'
import { testRedisUrl } from './helpers.ts'

const BENCH = join(import.meta.dirname, '..', 'scripts', 'bench.ts')
const alive = (pid: number) => { try { process.kill(pid, 0); return true } catch { return false } }
const noPin: CpuPlacement = { method: 'none', generatorCpus: [], serverCpus: [], redisCpus: [], note: 'tests do not pin' }

/** An orchestrator torn down after the test; `null`: with a private redis-server of its own. */
function orchestrator(redisUrl: string | null = testRedisUrl()): Orchestrator {
  const o = new Orchestrator(noPin, redisUrl)
  onTestFinished(() => o.teardown())
  return o
}

/**
 * One measured window of `path` against an env, with `users` distinct logged-in users (4 connections,
 * 5 rounds: 100 requests for 20 users), and the requests each instance answered in it.
 */
async function measure(env: Awaited<ReturnType<Orchestrator['startEnv']>>, path: string, users = 20) {
  const creds = await loginPopulation(env.urls, users)
  const plans = connectionPlans(env.urls, creds, 4, path)
  const before = await takeSample(env.instances, env.redisProbe)
  const load = await runLoad({ connections: plans, roundsPerConnection: 5 })
  const after = await takeSample(env.instances, env.redisProbe)
  return { ...measureWindow(path, before, after, load), perInstance: after.servers.map((s, i) => s.requestsTotal - before.servers[i]!.requestsTotal) }
}

const installed = { haproxy: balancerVersion('haproxy') !== null, nginx: balancerVersion('nginx') !== null }
/** A test title that says, in the output, why the test did not run. */
const unless = (kind: 'haproxy' | 'nginx') => (installed[kind] ? '' : ` (SKIPPED: ${kind} not installed; apt-get install -y ${kind})`)

describe('measurements that do not depend on the load generator', () => {
  it('counts exactly the bytes a request of known size puts on the wire', async () => {
    const i = await startInstance({ strategy: 'jwt', env: { AUTHBENCH_SECRET: 'bytes-test-secret-0123456789' } })
    onTestFinished(() => i.stop())
    // Connection: close: the server ends the exchange, so everything it wrote has arrived when the socket closes
    const request = `GET ${BASELINE_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Padding: ${'p'.repeat(777)}\r\n\r\n`
    const before = await i.stats()
    const received = await new Promise<string>((resolve, reject) => {
      const socket = connect(i.port, '127.0.0.1', () => socket.write(request))
      const chunks: Buffer[] = []
      socket.on('data', (d: Buffer) => chunks.push(d))
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
      socket.on('error', reject)
    })
    const after = await i.stats()
    expect(received).toMatch(/^HTTP\/1\.1 200 /)
    expect(received.endsWith(JSON.stringify(HEALTH_BODY))).toBe(true)
    expect(after.bytesReadTotal - before.bytesReadTotal).toBe(Buffer.byteLength(request))
    expect(after.bytesWrittenTotal - before.bytesWrittenTotal).toBe(Buffer.byteLength(received, 'latin1'))
    expect(after.requestsTotal - before.requestsTotal).toBe(1)
  })

  it('counts the major garbage collections and GC pause a window includes', async () => {
    const i = await startInstance({ strategy: 'jwt', env: { AUTHBENCH_SECRET: 'gc-count-test-secret-0123456789ab' } })
    onTestFinished(() => i.stop())
    const before = await i.stats()
    await i.stats({ gc: true }) // a forced full collection: a major GC, observed after the reading it precedes
    let after = await i.stats()
    for (let k = 0; k < 20 && after.gcMajorTotal === before.gcMajorTotal; k++) after = await i.stats()
    expect(after.gcMajorTotal).toBeGreaterThanOrEqual(before.gcMajorTotal + 1)
    expect(after.gcPauseMsTotal).toBeGreaterThan(before.gcPauseMsTotal)
    const noLoad: LoadOutcome = {
      statusCodes: {}, responses: 0, non2xx: 0, errors: 0, timeouts: 0, latencyMs: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 },
      generatorResponseBytes: 0, durationSec: 0, generatorCpuMicros: 0, generatorThreads: 1, latencyHistogram: null, startedAtEpochMs: 0,
    }
    const w = measureWindow('/hc', { servers: [before], redis: null, atMs: before.atMs }, { servers: [after], redis: null, atMs: after.atMs }, noLoad)
    expect(w.gcMajorCount).toBe(after.gcMajorTotal - before.gcMajorTotal)
    expect(w.gcPauseMs).toBeCloseTo(after.gcPauseMsTotal - before.gcPauseMsTotal)
  })

  it('times the host-speed probe in the server when asked, and only then', async () => {
    const i = await startInstance({ strategy: 'jwt', env: { AUTHBENCH_SECRET: 'speed-probe-test-secret-0123456789' } })
    onTestFinished(() => i.stop())
    expect((await i.stats()).speed).toBeUndefined()
    const { speed } = await i.stats({ speed: true })
    expect(Object.keys(speed!).sort()).toEqual(['cpuLoopMicros', 'syscallLoopMicros'])
    for (const micros of Object.values(speed!)) expect(Number.isFinite(micros) && micros > 0).toBe(true)
  })

  it('counts the client connections a server has open, and connectionsClosed waits until it has seen them close', async () => {
    const i = await startInstance({ strategy: 'jwt', env: { AUTHBENCH_SECRET: 'open-conn-test-secret-0123456789' } })
    onTestFinished(() => i.stop())
    const env = { instances: [i] } as unknown as CellEnv
    const sockets = await Promise.all([1, 2].map(() => new Promise<Socket>((resolve, reject) => {
      const s = connect(i.port, '127.0.0.1', () => s.write(`GET ${BASELINE_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`))
      s.once('data', () => resolve(s)) // answered: the server has accepted it, and keeps it alive
      s.on('error', reject)
    })))
    expect((await i.stats()).openConnections).toBe(2)
    // still open: the wait gives up after its limit
    const t0 = performance.now()
    await connectionsClosed(env, 150)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150)
    for (const s of sockets) s.destroy()
    await connectionsClosed(env, 5000)
    expect((await i.stats()).openConnections).toBe(0)
  })

  it('measures one Redis command per GET /me for redis-session tuned, and more for its defaults', async () => {
    const o = orchestrator(null) // a Redis of its own: other test files' traffic on the shared one would count too
    const tuned = await measure(await o.startEnv({ strategy: 'redis-session', profile: 'tuned', alg: 'HS256', instances: 1, balancer: 'none' }), '/me')
    const defaults = await measure(await o.startEnv({ strategy: 'redis-session', profile: 'defaults', alg: 'HS256', instances: 1, balancer: 'none' }), '/me')
    expect(tuned.serverRequests).toBe(100)
    expect(tuned.statusCodes).toEqual({ 200: 100 })
    expect(tuned.redisCommandsPerRequest).toBe(1)
    // GET, then the rolling save as one script: EVALSHA, and inside it GET (tombstone check), SET, PEXPIRE
    // (the user index lives as long as its sessions): Redis counts every command a script runs
    expect(defaults.redisCommandsPerRequest).toBe(5)
    for (const w of [tuned, defaults]) {
      expect(w.serverCpuMicrosPerRequest).toBeGreaterThan(0)
      expect(w.redisCpuMicrosPerRequest).toBeGreaterThan(0)
      expect(Number.isFinite(w.serverCpuMicrosPerRequest)).toBe(true)
    }
  })

  it(`sends exactly as many bytes for the baseline ${BASELINE_PATH} as for /me with the same headers, and no Redis traffic`, async () => {
    const o = orchestrator(null) // a Redis of its own: other test files' traffic on the shared one would count too
    const env = await o.startEnv({ strategy: 'redis-session', profile: 'tuned', alg: 'HS256', instances: 1, balancer: 'none' })
    const creds = await loginPopulation(env.urls, 10)
    const once = async (path: string) => {
      const before = await takeSample(env.instances, env.redisProbe)
      const load = await runLoad({ connections: connectionPlans(env.urls, creds, 1, path), roundsPerConnection: 1 })
      return measureWindow(path, before, await takeSample(env.instances, env.redisProbe), load)
    }
    const me = await once('/me')
    const baseline = await once(BASELINE_PATH)
    for (const w of [me, baseline]) expect(w.statusCodes, w.path).toEqual({ 200: 10 })
    expect(me.redisCommandsPerRequest).toBe(1)
    expect(baseline.redisCommandsPerRequest).toBe(0)
    expect(me.requestBytesPerRequest).toBeGreaterThan(100) // the session cookie is in both
    expect(baseline.requestBytesPerRequest).toBe(me.requestBytesPerRequest)
    // /health, kept for people and probes, is the same request 4 bytes longer
    const health = await once('/health')
    expect(health.requestBytesPerRequest! - me.requestBytesPerRequest!).toBe(4)
  })
})

describe('orchestration', () => {
  it('tears down every process it started: instances, Redis, balancer', async () => {
    const o = new Orchestrator(noPin, null) // its own private redis-server
    const lb = detectBalancer()
    const env = await o.startEnv({ strategy: 'redis-session', profile: 'tuned', alg: 'HS256', instances: 2, balancer: lb ? 'auto' : 'none' })
    expect(env.instances).toHaveLength(2)
    expect((await fetch(`${env.urls[0]}/health`)).status).toBe(200)
    const pids = o.processes.map((p) => p.pid)
    expect(o.processes.map((p) => p.role).sort()).toEqual([...(lb ? ['balancer'] : []), 'redis', 'server', 'server'])
    expect(pids.every(alive)).toBe(true)
    // every server runs with V8's memory reducer off: idle between repeats, it would drop their compiled code
    for (const i of env.instances) expect(readFileSync(`/proc/${i.pid}/cmdline`, 'utf8').split('\0')).toContain('--no-memory-reducer')
    await o.teardown()
    await o.teardown() // idempotent
    expect(pids.filter(alive)).toEqual([])
  })

  const anyBalancer = detectBalancer() !== null
  it.skipIf(!anyBalancer)(`puts the balancer it finds in front, and sends all load through it${anyBalancer ? '' : ' (SKIPPED: neither haproxy nor nginx installed; apt-get install -y haproxy)'}`, async () => {
    const o = orchestrator()
    const env = await o.startEnv({ strategy: 'jwt', profile: 'tuned', alg: 'HS256', instances: 2, balancer: 'auto' })
    expect(env.balancer!.kind).toBe(detectBalancer()!.kind)
    expect(env.urls).toEqual([env.balancer!.url])
    const w = await measure(env, '/me')
    expect(w.statusCodes).toEqual({ 200: 100 })
    expect(w.perInstance.reduce((a, b) => a + b, 0)).toBe(100)
  })

  for (const kind of ['haproxy', 'nginx'] as const) {
    it.skipIf(!installed[kind])(`puts ${kind} in front when asked, and it spreads requests round robin${unless(kind)}`, async () => {
      const o = orchestrator()
      const env = await o.startEnv({ strategy: 'jwt', profile: 'tuned', alg: 'HS256', instances: 2, balancer: kind })
      expect(env.balancer!.kind).toBe(kind)
      expect(env.urls).toEqual([env.balancer!.url])
      const w = await measure(env, '/me')
      expect(w.statusCodes).toEqual({ 200: 100 })
      // round robin over 2 instances: about 50 each of the window's 100 (one instance alone would get 100)
      expect(w.perInstance.reduce((a, b) => a + b, 0)).toBe(100)
      for (const n of w.perInstance) expect(n).toBeGreaterThanOrEqual(30)
    })
  }

  it.skipIf(!installed.haproxy)(`routes sticky sessions back to the instance that created them${unless('haproxy')}`, async () => {
    const o = orchestrator()
    const sticky = await o.startEnv({ strategy: 'memory-session', profile: 'tuned', alg: 'HS256', instances: 2, balancer: 'haproxy', sticky: true })
    const w = await measure(sticky, '/me')
    expect(w.statusCodes).toEqual({ 200: 100 })
    expect(w.perInstance.every((n) => n > 0)).toBe(true) // both instances served their own users
    const roundRobin = await o.startEnv({ strategy: 'memory-session', profile: 'tuned', alg: 'HS256', instances: 2, balancer: 'haproxy' })
    const cred = await loginUser(roundRobin.urls[0]!, 5)
    const codes = await Promise.all(Array.from({ length: 6 }, () => fetch(`${roundRobin.urls[0]}/me`, { headers: cred.headers }).then((r) => r.status)))
    expect(codes).toContain(401) // the other instance does not know the session
  })

  it('skips Redis-backed strategies with one clear reason when there is no Redis', async () => {
    const o = new Orchestrator(noPin, 'redis://127.0.0.1:1')
    onTestFinished(() => o.teardown())
    const r = await o.redis()
    expect(r.source).toBe('none')
    expect(r.note).toMatch(/REDIS_URL redis:\/\/127\.0\.0\.1:1 does not answer.*skipped/)
    await expect(o.startEnv({ strategy: 'jwt-denylist', profile: 'tuned', alg: 'HS256', instances: 1, balancer: 'none' })).rejects.toThrow(/skipped/)
  })
})

describe('the bench command', () => {
  const bench = (args: string[], env: Record<string, string> = {}) => {
    const out = mkdtempSync(join(tmpdir(), 'authbench-test-out-'))
    const child = spawn(process.execPath, ['--import', 'tsx', BENCH, '--no-pin', '--out', out, ...args], {
      env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    onTestFinished(() => { if (child.exitCode === null) child.kill('SIGKILL') })
    const results = (): RunResults | null => {
      const dirs = existsSync(out) ? readdirSync(out) : []
      const file = dirs[0] ? join(out, dirs[0], 'results.json') : null
      return file && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RunResults) : null
    }
    return { child, exited, results, output: () => stdout + stderr }
  }
  const quick = ['--scenarios', 'throughput', '--duration', '0.5', '--window', '0.25', '--warmup', '0.1', '--users', '40', '--repeats', '1']

  it('runs, writes results.json, and leaves no process behind', async () => {
    const b = bench([...quick, '--strategies', 'jwt,redis-session'])
    expect(await b.exited).toBe(0)
    const r = b.results()!
    expect(r.status).toBe('complete')
    expect(r.cells.map((c) => c.state)).toEqual(['completed', 'completed'])
    expect(r.cells.map((c) => c.balancer)).toEqual([{ kind: 'none', version: null }, { kind: 'none', version: null }]) // one instance each
    expect(r.balancer).toEqual({ kind: 'none', version: null })
    const c = r.cells[1]!
    if (c.state !== 'completed' || c.summary.kind !== 'throughput' || c.repeats[0]!.kind !== 'throughput') throw new Error(`not a completed throughput cell: ${JSON.stringify(c).slice(0, 200)}`)
    expect(c.summary.redisCommandsPerRequest?.median).toBe(1)
    expect(c.repeats[0]!.bytes.meRequestBytes).toBeGreaterThan(100)
    expect(r.machine.cores).toBe(cpus().length) // the machine's cores, though the harness pinned itself to one
    expect(r.packages.fastify).toMatch(/^5\./)
    // the mechanism loops ran in their child (bundled like the servers) and measured each mechanism
    expect(r.warnings.filter((w) => /mechanism/.test(w))).toEqual([])
    const mechanisms = r.mechanisms as { items?: Array<{ name: string; nsPerOp: number }> } | undefined
    expect(mechanisms?.items?.length).toBeGreaterThan(3)
    for (const m of mechanisms!.items!) expect(m.nsPerOp, m.name).toBeGreaterThan(0)
    expect(r.processes.length).toBe(3) // two servers and the private redis-server
    expect(r.processes.map((p) => p.pid).filter(alive)).toEqual([])
    expect(b.output()).toMatch(/complete; results in/)
    expect(validateResults(r)).toEqual([])
  })

  it('on SIGINT keeps every finished cell, says it was interrupted, exits 130 and leaves no process behind', async () => {
    const b = bench([...quick, '--duration', '3', '--strategies', 'jwt,jwt-cookie,secure-session,memory-session'])
    const deadline = Date.now() + 60_000
    while (!b.results()?.cells.some((c) => c.state === 'completed')) {
      if (Date.now() > deadline || b.child.exitCode !== null) throw new Error(`no cell finished: ${b.output()}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    b.child.kill('SIGINT')
    expect(await b.exited).toBe(130)
    const r = b.results()!
    expect(r.status).toBe('interrupted')
    expect(r.cells[0]!.state).toBe('completed')
    expect(r.cells.some((c) => c.state === 'partial' && /interrupted/.test(c.reason))).toBe(true)
    expect(r.processes.length).toBeGreaterThan(0)
    expect(r.processes.map((p) => p.pid).filter(alive)).toEqual([])
  })

  it('skips the Redis-backed strategies, saying how to enable them, when redis-server is missing', async () => {
    const b = bench([...quick, '--strategies', 'jwt,redis-session'], { PATH: '/nonexistent' })
    expect(await b.exited).toBe(0)
    const r = b.results()!
    expect(r.cells.map((c) => c.state)).toEqual(['completed', 'skipped'])
    expect(b.output().replace(/\s+/g, ' ')).toMatch(/redis-server not found: install it .*apt-get install -y redis-server.*or set REDIS_URL/)
  })

  it.each([
    [['--strategies', 'kerberos'], /unknown strategy 'kerberos'/],
    [['--repeats', '0'], /--repeats must be an integer between 1 and 100/],
    [['--duration', 'abc'], /--duration.*not a number/],
    [['--frobnicate'], /unknown option '--frobnicate'/],
    [['--balancer', 'f5'], /--balancer.*Allowed choices are auto, haproxy, nginx, none/],
  ])('refuses %j with one line and exit code 2', (args, message) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', BENCH, ...args], { encoding: 'utf8', timeout: 20_000 })
    expect(r.status).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(message)
  })
})
