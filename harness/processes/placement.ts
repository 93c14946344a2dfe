import { spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import type { CpuPlacement } from '../results/results.ts'

function hasTaskset(): boolean {
  const r = spawnSync('taskset', ['--version'], { encoding: 'utf8' })
  return !r.error && r.status === 0
}

/**
 * Disjoint cores for the load generator and the system under test (servers, Redis, balancer):
 * core 0 for the generator, the rest for the servers. Needs ≥ 2 cores and `taskset`; otherwise
 * nothing is pinned and the placement says so.
 */
export function planPlacement(wanted: boolean, generators = 1): CpuPlacement {
  const cores = availableParallelism()
  if (wanted && generators > 1) return generatorsPlacement(cores, generators)
  const none = (note: string): CpuPlacement => ({ method: 'none', generatorCpus: [], serverCpus: [], redisCpus: [], note })
  if (!wanted) return none('pinning disabled (--no-pin)')
  if (cores < 2) return none(`only ${cores} core: generator and servers share it`)
  if (process.platform !== 'linux' || !hasTaskset()) return none('taskset not available: generator and servers are not pinned')
  if (cores === 2) {
    // Two cores: the Node servers get a core of their own. Redis shares the generator's core, so that
    // it does not steal CPU from the servers whose per-request cost is measured; its own CPU is read from INFO.
    return { method: 'taskset', generatorCpus: [0], serverCpus: [1], redisCpus: [0], note: 'generator and Redis on core 0, servers and balancer on core 1' }
  }
  const serverCpus = Array.from({ length: cores - 2 }, (_, i) => i + 1)
  return { method: 'taskset', generatorCpus: [0], serverCpus, redisCpus: [cores - 1], note: `generator on core 0, servers/balancer on ${serverCpus.join(',')}, Redis on ${cores - 1}` }
}

/** Command prefix that runs a child on the server cores. */
export function serverWrapper(p: CpuPlacement): string[] {
  return p.method === 'taskset' ? ['taskset', '-c', p.serverCpus.join(',')] : []
}

/** Command prefix that runs the private redis-server on its cores. */
export function redisWrapper(p: CpuPlacement): string[] {
  return p.method === 'taskset' ? ['taskset', '-c', p.redisCpus.join(',')] : []
}

/** Pins this process (all its threads) to the generator cores. */
export function pinSelf(p: CpuPlacement): void {
  if (p.method !== 'taskset') return
  const r = spawnSync('taskset', ['-a', '-p', '-c', p.generatorCpus.join(','), String(process.pid)], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`taskset could not pin the load generator: ${r.stderr.trim()}`)
}

/**
 * Several generator processes (`--generator-processes n`): cores 0…n−1 for them, the next ones for
 * the servers, Redis on the last core where there is one to spare. Needs n + 1 cores and taskset.
 */
function generatorsPlacement(cores: number, n: number): CpuPlacement {
  if (cores < n + 1 || process.platform !== 'linux' || !hasTaskset()) {
    throw new PlacementError(`--generator-processes ${n} needs ${n} cores for the generators and one for the servers, and taskset; this machine has ${cores} (or run with --no-pin)`)
  }
  const generatorCpus = Array.from({ length: n }, (_, i) => i)
  const rest = Array.from({ length: cores - n }, (_, i) => n + i)
  const redisCpus = rest.length > 1 ? [rest.at(-1)!] : [0]
  const serverCpus = rest.length > 1 ? rest.slice(0, -1) : rest
  return { method: 'taskset', generatorCpus, serverCpus, redisCpus, note: `${n} generator processes on cores ${generatorCpus.join(',')}, servers/balancer on ${serverCpus.join(',')}, Redis on ${redisCpus.join(',')}` }
}

/** Server cores left when n generator processes take cores 0…n−1 (Redis gets the last core where one is left over, as above). */
export function serverCoresWith(generators: number, cores: number): number {
  const rest = cores - generators
  return rest > 1 ? rest - 1 : Math.max(rest, 0)
}

export class PlacementError extends Error {
  override name = 'PlacementError'
}
