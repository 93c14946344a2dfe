import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { detectBalancer } from '../harness/balancer.ts'
import { loginUser } from '../harness/credentials.ts'
import { startInstance } from '../harness/instances.ts'
import { runLoad } from '../harness/load.ts'
import { Orchestrator } from '../harness/orchestrator.ts'
import { connectionPlans, loginPopulation } from '../harness/population.ts'
import { measureWindow, takeSample } from '../harness/probes.ts'
import type { CpuPlacement, RunResults } from '../harness/results.ts'
import { validateResults } from './validate.ts'

const BENCH = join(import.meta.dirname, '..', 'scripts', 'bench.ts')
const alive = (pid: number) => { try { process.kill(pid, 0); return true } catch { return false } }
const noPin: CpuPlacement = { method: 'none', generatorCpus: [], serverCpus: [], redisCpus: [], note: 'tests do not pin' }

function orchestrator(redisUrl: string | null = inject('redisUrl')): Orchestrator {
  const o = new Orchestrator(noPin, redisUrl)
  onTestFinished(() => o.teardown())
  return o
}

/** One measured window of `path` against an env, with `users` distinct logged-in users. */
async function measure(env: Awaited<ReturnType<Orchestrator['startEnv']>>, path: string, users = 20) {
  const creds = await loginPopulation(env.urls, users)
  const plans = connectionPlans(env.urls, creds, 4, path)
  const before = await takeSample(env.instances, env.redisProbe)
  const load = await runLoad({ connections: plans, roundsPerConnection: 5 })
  return measureWindow(path, before, await takeSample(env.instances, env.redisProbe), load)
}

describe('measurements that do not depend on the load generator', () => {
  it('counts exactly the bytes a request of known size puts on the wire', async () => {
    const i = await startInstance({ strategy: 'jwt', env: { AUTHBENCH_SECRET: 'bytes-test-secret-0123456789' } })
    onTestFinished(() => i.stop())
    const request = `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'p'.repeat(777)}\r\n\r\n`
    const before = await i.stats()
    const received = await new Promise<number>((resolve, reject) => {
      const socket = connect(i.port, '127.0.0.1', () => socket.write(request))
      let n = 0
      socket.on('data', (d) => {
        n += d.length
        if (d.toString().includes('"role":"none"')) socket.end()
      })
      socket.on('close', () => resolve(n))
      socket.on('error', reject)
    })
    await new Promise((r) => setTimeout(r, 50))
    const after = await i.stats()
    expect(after.bytesReadTotal - before.bytesReadTotal).toBe(Buffer.byteLength(request))
    expect(after.bytesWrittenTotal - before.bytesWrittenTotal).toBe(received)
    expect(after.requestsTotal - before.requestsTotal).toBe(1)
  })

  it('measures one Redis command per GET /me for redis-session tuned, and more for its defaults', async () => {
    const o = orchestrator()
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

  it('sees no Redis traffic for /health, and the same request bytes on /health as on /me', async () => {
    const o = orchestrator()
    const env = await o.startEnv({ strategy: 'redis-session', profile: 'tuned', alg: 'HS256', instances: 1, balancer: 'none' })
    const creds = await loginPopulation(env.urls, 10)
    const bytes = async (path: string) => {
      const before = await takeSample(env.instances, env.redisProbe)
      const load = await runLoad({ connections: connectionPlans(env.urls, creds, 1, path), roundsPerConnection: 1 })
      return measureWindow(path, before, await takeSample(env.instances, env.redisProbe), load)
    }
    const me = await bytes('/me')
    const health = await bytes('/health')
    expect(health.redisCommandsPerRequest).toBe(0)
    expect(health.requestBytesPerRequest! - me.requestBytesPerRequest!).toBe('/health'.length - '/me'.length)
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
    await o.teardown()
    await o.teardown() // idempotent
    expect(pids.filter(alive)).toEqual([])
  })

  it.runIf(detectBalancer() !== null)('puts a real balancer in front that spreads requests round robin', async () => {
    const o = orchestrator()
    const env = await o.startEnv({ strategy: 'jwt', profile: 'tuned', alg: 'HS256', instances: 2, balancer: 'auto' })
    expect(env.urls).toEqual([env.balancer!.url])
    const w = await measure(env, '/me')
    const perInstance = await Promise.all(env.instances.map((i) => i.stats()))
    expect(w.statusCodes).toEqual({ 200: 100 })
    for (const s of perInstance) expect(s.requestsTotal).toBeGreaterThan(30)
  })

  it.each(['haproxy', 'nginx'] as const)('puts %s in front when asked, round robin', async (kind) => {
    const o = orchestrator()
    const env = await o.startEnv({ strategy: 'jwt', profile: 'tuned', alg: 'HS256', instances: 2, balancer: kind }).catch((err: Error) => {
      if (/not found on PATH/.test(err.message)) return null // this machine lacks it: the auto test covers the other
      throw err
    })
    if (env === null) return
    expect(env.balancer!.kind).toBe(kind)
    const w = await measure(env, '/me')
    expect(w.statusCodes).toEqual({ 200: 100 })
    for (const s of await Promise.all(env.instances.map((i) => i.stats()))) expect(s.requestsTotal).toBeGreaterThan(30)
  })

  it.runIf(detectBalancer()?.kind === 'haproxy')('routes sticky sessions back to the instance that created them', async () => {
    const o = orchestrator()
    const sticky = await o.startEnv({ strategy: 'memory-session', profile: 'tuned', alg: 'HS256', instances: 2, balancer: 'haproxy', sticky: true })
    const w = await measure(sticky, '/me')
    expect(w.statusCodes).toEqual({ 200: 100 })
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
    const c = r.cells[1]!
    if (c.state !== 'completed' || c.summary.kind !== 'throughput' || c.repeats[0]!.kind !== 'throughput') throw new Error(`not a completed throughput cell: ${JSON.stringify(c).slice(0, 200)}`)
    expect(c.summary.redisCommandsPerRequest?.median).toBe(1)
    expect(c.repeats[0]!.bytes.meRequestBytes).toBeGreaterThan(100)
    expect(r.machine.cores).toBeGreaterThan(0)
    expect(r.packages.fastify).toMatch(/^5\./)
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
    expect(b.output()).toMatch(/redis-server not found: install it .*apt-get install -y redis-server.*or set REDIS_URL/)
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
