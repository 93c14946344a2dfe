/**
 * `--generator-processes auto`: the rule that turns the pilot's CPU per request (generator and server)
 * into a number of generator processes, the cases where no pilot runs, the pilot itself against a real
 * server on this machine, and the CLI's handling of the option.
 */
import { spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { planPlacement, serverCoresWith } from '../harness/processes/placement.ts'
import { BENCH_DEFAULTS } from '../harness/run/options.ts'
import { chooseGeneratorProcesses, GENERATOR_HEADROOM, generatorsFor, measurePilot, noPilotReason, type PilotReading } from '../harness/run/generator-count.ts'
import { coresMissing } from '../scenarios/throughput.ts'

const ROOT = join(import.meta.dirname, '..')
const reading = (generator: number, server: number): PilotReading => ({ generatorCpuMicrosPerRequest: generator, serverCpuMicrosPerRequest: server, requests: 50_000, connections: 64 })

describe('the automatic number of generator processes', () => {
  it('is the fewest whose CPU covers the servers\' with headroom', () => {
    // r = 1.6: one server core needs ceil(1.6 × 1.15) = 2 generators
    const c = generatorsFor(reading(40, 25), 1, 8)
    expect(c.processes).toBe(2)
    expect(c.note).toMatch(/2 generator processes \(automatic: the generator spends 1\.60× the server's CPU per \/health request \(40\.0 vs 25\.0 µs/)
    expect(c.note).toContain(`× ${GENERATOR_HEADROOM}`)
    // a generator cheaper than the server (with headroom) needs no second process
    expect(generatorsFor(reading(20, 25), 1, 8).processes).toBe(1)
    // four server cores at r = 1.6: 8 needed; 8 cores leave 4 server cores beside 3 generators at most
    const capped = generatorsFor(reading(40, 25), 4, 8)
    expect(capped.processes).toBe(3)
    expect(serverCoresWith(capped.processes, 8)).toBeGreaterThanOrEqual(4)
    expect(capped.note).toMatch(/8 would saturate 4 server cores, this machine's 8 cores leave room for 3: the generator may still saturate first/)
  })

  it('runs no pilot where it cannot help, and says why', () => {
    const o = { pin: true, generator: 'autocannon', targets: [] as string[] }
    expect(noPilotReason(o, 1, 2)).toMatch(/2 cores leave no room for a second generator beside 1 server core/)
    expect(noPilotReason(o, 1, 4)).toBeNull()
    expect(noPilotReason(o, 3, 4)).toMatch(/4 cores leave no room/)
    expect(noPilotReason({ ...o, pin: false }, 1, 8)).toMatch(/--no-pin/)
    expect(noPilotReason({ ...o, generator: 'wrk' }, 1, 8)).toMatch(/wrk runs its own threads/)
    expect(noPilotReason({ ...o, targets: ['http://10.0.0.5:3000'] }, 1, 8)).toMatch(/target mode.*give --generator-processes n/)
  })

  it.runIf(availableParallelism() < 4)('chooses one process on this machine, with the reason in its note', async () => {
    const c = await chooseGeneratorProcesses({ ...BENCH_DEFAULTS, scenarios: ['throughput'] })
    expect(c.processes).toBe(1)
    expect(c.note).toMatch(/^1 generator process \(automatic: \d+ cores leave no room/)
  })

  it('leaves fewer server cores for a sweep when generators take more', () => {
    expect(coresMissing(4, 8, 1)).toBeUndefined() // 8 cores: 6 for servers
    expect(coresMissing(4, 8, 3)).toBeUndefined() // 3 generators, Redis, 4 servers
    expect(coresMissing(5, 8, 3)).toMatch(/has 4 \(of 8: the others run 3 load generator processes and Redis\)/)
  })

  it('measures the pilot against a real server: CPU per request on both sides, its processes stopped', async () => {
    const r = await measurePilot(planPlacement(true, 1), 8)
    expect(r.requests).toBeGreaterThan(100)
    expect(r.connections).toBe(8)
    for (const v of [r.generatorCpuMicrosPerRequest, r.serverCpuMicrosPerRequest]) {
      expect(Number.isFinite(v)).toBe(true)
      expect(v).toBeGreaterThan(0)
    }
    expect(spawnSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).stdout.trim()).toBe('') // the server and its kin stopped
  }, 30_000)

  it('is the CLI default; a bad count is one line and exit 2', () => {
    const bench = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', ...args], { cwd: ROOT, encoding: 'utf8' })
    const help = bench('--help')
    expect(help.stdout).toMatch(/--generator-processes <n\|auto>[\s\S]*default:\s+auto/)
    for (const [value, message] of [['0', /--generator-processes/], ['x', /not a number/]] as const) {
      const r = bench('--generator-processes', value, '--plan')
      expect(r.status).toBe(2)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toMatch(message)
    }
    expect(bench('--generator-processes', 'auto', '--plan', '--scenarios', 'throughput').status).toBe(0)
  }, 60_000)
})
