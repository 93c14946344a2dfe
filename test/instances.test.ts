import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { availableParallelism } from 'node:os'
import { afterAll, describe, expect, it } from 'vitest'
import { loginUser } from '../harness/load/credentials.ts'
import { SERVER_ENTRY, startInstance, type Instance, type OwnedInstance } from '../harness/processes/instances.ts'
import { STRATEGY_NAMES } from '../servers/config.ts'
import { me, testRedisUrl } from './helpers.ts'

const started: Instance[] = []
afterAll(async () => { await Promise.all(started.map((i) => i.stop())) })

async function instance(strategy: string, env: Record<string, string>): Promise<OwnedInstance> {
  const i = await startInstance({ strategy, env })
  started.push(i)
  return i
}

/** Instances that share one run secret and one Redis, as the harness starts them. */
function runEnv(): Record<string, string> {
  return { AUTHBENCH_SECRET: randomBytes(24).toString('hex'), REDIS_URL: testRedisUrl(), AUTHBENCH_REDIS_PREFIX: `i${randomBytes(4).toString('hex')}:` }
}

describe.each(STRATEGY_NAMES)('two %s instances sharing a secret and a Redis over real HTTP', (strategy) => {
  const shared = strategy !== 'memory-session'

  it(shared ? 'accept each other\'s credentials, also after a restart' : 'refuse each other\'s sessions, and forget them on restart', async () => {
    const env = runEnv()
    const [a, b] = await Promise.all([instance(strategy, env), instance(strategy, env)])
    const cred = await loginUser(a.url, 42)
    expect((await me(a.url, cred.headers)).status).toBe(200)
    expect((await me(b.url, cred.headers)).status).toBe(shared ? 200 : 401)

    await a.stop()
    const a2 = await instance(strategy, env)
    expect((await me(a2.url, cred.headers)).status).toBe(shared ? 200 : 401)
  })
})

describe('the server entry', () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--import', 'tsx', SERVER_ENTRY, ...args], { encoding: 'utf8', env: { ...process.env, REDIS_URL: '', ...env }, timeout: 20_000 })

  it.each([
    [['--strategy', 'kerberos'], /unknown strategy 'kerberos'/],
    [['--strategy', 'jwt', '--alg', 'HS1'], /unknown --alg 'HS1'/],
    [['--strategy', 'jwt', '--profile', 'fast'], /unknown profile 'fast'/],
    [['--strategy', 'secure-session', '--profile', 'floor'], /has no 'floor' profile/],
    [['--strategy', 'jwt', '--port', 'abc'], /port/],
    [['--strategy', 'jwt', '--bogus'], /unknown option '--bogus'/],
    [[], /required option '--strategy <name>'/],
    [['--strategy', 'redis-session'], /needs Redis: set REDIS_URL/],
  ])('fails at start on %j with one clear line and exit code 2', (args, message) => {
    const r = run(args)
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stdout).toBe('')
  })

  it('fails at start when Redis cannot be reached', () => {
    const r = run(['--strategy', 'jwt-denylist', '--port', '0'], { REDIS_URL: 'redis://127.0.0.1:1' })
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/cannot reach Redis at 127\.0\.0\.1:1/)
  })

  const linux = process.platform === 'linux'
  it.skipIf(!linux)(`listens on 127.0.0.1 only: the same port on another loopback address refuses${linux ? '' : ' (SKIPPED: needs Linux, where all of 127/8 reaches the loopback)'}`, async () => {
    const i = await instance('jwt', { AUTHBENCH_SECRET: 'bind-test-secret-0123456789abcdef' })
    expect(new URL(i.url).hostname).toBe('127.0.0.1')
    expect((await fetch(`${i.url}/health`)).status).toBe(200)
    // a server bound to 0.0.0.0 (or ::) would answer on 127.0.0.2 too
    const refused = await new Promise<string | null>((resolve) => {
      const socket = connect(i.port, '127.0.0.2')
      socket.once('connect', () => { socket.destroy(); resolve(null) })
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
    })
    expect(refused).toBe('ECONNREFUSED')
  })

  it('warns when it generates its own secret, and exits cleanly on SIGTERM', async () => {
    const i = await instance('jwt', { AUTHBENCH_SECRET: '' }) // stopped after the file should an expectation fail first
    expect(i.log()).toMatch(/AUTHBENCH_SECRET is not set/)
    expect((await fetch(`${i.url}/health`)).status).toBe(200)
    const exited = new Promise<number | null>((r) => i.process.once('exit', (code) => r(code)))
    i.process.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})

describe('placement of a started server', () => {
  const canPin = spawnSync('taskset', ['--version']).status === 0 && availableParallelism() >= 2

  it.skipIf(!canPin)('starts on every core, then has all its threads pinned to the server cores before it is handed over', async () => {
    const last = availableParallelism() - 1
    const i = await startInstance({ strategy: 'jwt', env: { AUTHBENCH_SECRET: randomBytes(24).toString('hex') }, pinCpusWhenReady: [last] })
    started.push(i)
    const tasks = readdirSync(`/proc/${i.pid}/task`)
    expect(tasks.length).toBeGreaterThan(1) // node runs several threads: every one of them must be pinned
    for (const t of tasks) {
      const allowed = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${i.pid}/task/${t}/status`, 'utf8'))?.[1]
      expect(allowed, `thread ${t}`).toBe(String(last))
    }
  })

})
