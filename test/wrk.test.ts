import { describe, expect, it, onTestFinished } from 'vitest'
import { runLoad } from '../harness/load/load.ts'
import { OptionError } from '../harness/run/options.ts'
import { Orchestrator } from '../harness/processes/orchestrator.ts'
import { connectionPlans, loginPopulation } from '../harness/load/population.ts'
import { measureWindow, takeSample } from '../harness/measure/probes.ts'
import type { CpuPlacement } from '../harness/results/results.ts'
import { checkGenerator, rawRequest, WrkGenerator, WrkUnavailableError, wrkThreads, wrkVersion } from '../harness/load/wrk.ts'
import { testRedisUrl } from './helpers.ts'

const noPin: CpuPlacement = { method: 'none', generatorCpus: [], serverCpus: [], redisCpus: [], note: 'tests do not pin' }
const hasWrk = wrkVersion() !== null
const unlessWrk = hasWrk ? '' : ' (SKIPPED: wrk not installed; apt-get install -y wrk)'

describe('wrk as the load generator', () => {
  it('sends byte for byte the request autocannon sends', () => {
    const r = rawRequest('http://127.0.0.1:4321', { method: 'GET', path: '/me', headers: { authorization: 'Bearer abc' } })
    expect(r).toBe('GET /me HTTP/1.1\r\nHost: 127.0.0.1:4321\r\nConnection: keep-alive\r\nauthorization: Bearer abc\r\n\r\n')
    const post = rawRequest('http://127.0.0.1:4321', { method: 'POST', path: '/login', headers: { 'content-type': 'application/json' }, body: '{"a":"é"}' })
    expect(post).toMatch(/\r\ncontent-type: application\/json\r\nContent-Length: 10\r\n\r\n\{"a":"é"\}$/)
  })

  it('runs as many threads as it may use cores, each with an equal share of the connections', () => {
    expect(wrkThreads(1, 2)).toBe(1)
    expect(wrkThreads(10, 2)).toBe(2)
    expect(wrkThreads(9, 2)).toBe(1)
    expect(wrkThreads(64, 3)).toBe(2)
    expect(wrkThreads(64, 1)).toBe(1)
  })

  it('without wrk installed, --generator wrk is a one-line option error and the generator says how to install it', () => {
    expect(() => checkGenerator({ generator: 'wrk' }, '/nonexistent/wrk')).toThrow(OptionError)
    expect(() => checkGenerator({ generator: 'wrk' }, '/nonexistent/wrk')).toThrow(/^--generator wrk: wrk not found \(\/nonexistent\/wrk\): install it \(Debian\/Ubuntu: sudo apt-get install -y wrk\) or use --generator autocannon$/)
    expect(() => checkGenerator({ generator: 'autocannon' }, '/nonexistent/wrk')).not.toThrow()
    expect(() => new WrkGenerator('/nonexistent/wrk')).toThrow(WrkUnavailableError)
  })

  it(`drives a jwt server through the population's credentials in turn, every request answered 200${unlessWrk}`, { skip: !hasWrk, timeout: 60_000 }, async () => {
    const o = new Orchestrator(noPin, testRedisUrl())
    onTestFinished(() => o.teardown())
    const env = await o.startEnv({ strategy: 'jwt', profile: 'tuned', alg: 'HS256', instances: 1, balancer: 'none' })
    // users 1…30: one- and two-digit ids make tokens of two lengths, so one credential sent over and over would show
    const creds = await loginPopulation(env.urls, 30)
    const sizes = creds.map((c) => Buffer.byteLength(rawRequest(env.urls[0]!, { method: 'GET', path: '/me', headers: c.headers })))
    const [min, max] = [Math.min(...sizes), Math.max(...sizes)]
    expect(max).toBeGreaterThan(min)

    // autocannon, every user once: the exact mean request size at the server's socket
    const before = await takeSample(env.instances, null)
    const everyone = await runLoad({ connections: connectionPlans(env.urls, creds, 3, '/me'), roundsPerConnection: 1 })
    const once = measureWindow('/me', before, await takeSample(env.instances, null), everyone)
    expect(once.requestBytesPerRequest).toBeCloseTo(sizes.reduce((a, b) => a + b, 0) / sizes.length, 6)

    const wrk = new WrkGenerator()
    onTestFinished(() => wrk.close())
    const plans = connectionPlans(env.urls, creds, 3, '/me')
    const start = await takeSample(env.instances, null)
    const load = await wrk.run(plans, 0.5)
    const w = measureWindow('/me', start, await takeSample(env.instances, null), load)
    expect(load.responses).toBeGreaterThan(3 * 30) // several rounds of the population
    // wrk stops on SIGINT without waiting for the requests in flight: the server may have counted up to one per connection more
    expect(w.serverRequests - load.responses).toBeGreaterThanOrEqual(0)
    expect(w.serverRequests - load.responses).toBeLessThanOrEqual(plans.length)
    expect(w).toMatchObject({ non2xx: 0, errors: 0, statusCodes: { '<400': load.responses } })
    // cycling through all 30 credentials: the mean size lies strictly between the shortest and the longest, near autocannon's
    expect(w.requestBytesPerRequest!).toBeGreaterThan(min)
    expect(w.requestBytesPerRequest!).toBeLessThan(max)
    expect(Math.abs(w.requestBytesPerRequest! - once.requestBytesPerRequest!)).toBeLessThan(0.5)
    expect(w.loadDurationSec).toBeGreaterThan(0.3)
    expect(w.serverCpuShare).toBeGreaterThan(0)
    expect(w.generatorCpuShare).toBeGreaterThanOrEqual(0)
    expect(w.latencyMs.p99).toBeGreaterThanOrEqual(w.latencyMs.p50)
  })
})
