import { createServer, type Socket } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { runLoad } from '../harness/load/load.ts'
import { Orchestrator } from '../harness/processes/orchestrator.ts'
import { connectionPlans, loginPopulation } from '../harness/load/population.ts'
import { measureWindow, takeSample } from '../harness/measure/probes.ts'
import type { CpuPlacement } from '../harness/results/results.ts'
import { testRedisUrl } from './helpers.ts'

const noPin: CpuPlacement = { method: 'none', generatorCpus: [], serverCpus: [], redisCpus: [], note: 'tests do not pin' }

describe('a timed autocannon load', () => {
  it('lets every request in flight finish: the server answered every request it counted', { timeout: 60_000 }, async () => {
    const o = new Orchestrator(noPin, testRedisUrl())
    onTestFinished(() => o.teardown())
    const env = await o.startEnv({ strategy: 'redis-session', profile: 'floor', alg: 'HS256', instances: 1, balancer: 'none' })
    const creds = await loginPopulation(env.urls, 40)
    for (const connections of [1, 16, 40]) {
      const plans = connectionPlans(env.urls, creds, connections, '/me')
      const before = await takeSample(env.instances, env.redisProbe)
      const load = await runLoad({ connections: plans, durationSec: 0.3 })
      const w = measureWindow('/me', before, await takeSample(env.instances, env.redisProbe), load)
      expect(w.serverRequests, `${connections} connections`).toBe(load.responses)
      expect(w.redisCommandsPerRequest, `${connections} connections`).toBe(1) // one GET each, none still to come
      expect(load.durationSec).toBeGreaterThan(0)
      expect(load.generatorThreads).toBe(1)
    }
  })

  it('gives up a request that a stuck server never answers, instead of waiting for its timeout', { timeout: 8_000 }, async () => {
    const sockets = new Set<Socket>()
    const stuck = createServer((s) => { sockets.add(s); s.resume() }) // reads, never answers
    await new Promise<void>((r) => stuck.listen(0, '127.0.0.1', r))
    onTestFinished(() => { sockets.forEach((s) => s.destroy()); stuck.close() })
    const port = (stuck.address() as { port: number }).port
    const load = await runLoad({ connections: [{ url: `http://127.0.0.1:${port}`, requests: [{ method: 'GET', path: '/me', headers: {} }] }], durationSec: 0.2, timeoutSec: 30 })
    expect(load.responses).toBe(0)
  })
})
