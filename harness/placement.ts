import { spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import type { CpuPlacement } from './results.ts'

function hasTaskset(): boolean {
  const r = spawnSync('taskset', ['--version'], { encoding: 'utf8' })
  return !r.error && r.status === 0
}

/**
 * Disjoint cores for the load generator and the system under test (servers, Redis, balancer):
 * core 0 for the generator, the rest for the servers. Needs ≥ 2 cores and `taskset`; otherwise
 * nothing is pinned and the placement says so.
 */
export function planPlacement(wanted: boolean): CpuPlacement {
  const cores = availableParallelism()
  if (!wanted) return { method: 'none', generatorCpus: [], serverCpus: [], note: 'pinning disabled (--no-pin)' }
  if (cores < 2) return { method: 'none', generatorCpus: [], serverCpus: [], note: `only ${cores} core: generator and servers share it` }
  if (process.platform !== 'linux' || !hasTaskset()) {
    return { method: 'none', generatorCpus: [], serverCpus: [], note: 'taskset not available: generator and servers are not pinned' }
  }
  const serverCpus = Array.from({ length: cores - 1 }, (_, i) => i + 1)
  return { method: 'taskset', generatorCpus: [0], serverCpus, note: `generator on core 0, servers/Redis/balancer on ${serverCpus.join(',')}` }
}

/** Command prefix that runs a child on the server cores. */
export function serverWrapper(p: CpuPlacement): string[] {
  return p.method === 'taskset' ? ['taskset', '-c', p.serverCpus.join(',')] : []
}

/** Pins this process (all its threads) to the generator cores. */
export function pinSelf(p: CpuPlacement): void {
  if (p.method !== 'taskset') return
  const r = spawnSync('taskset', ['-a', '-p', '-c', p.generatorCpus.join(','), String(process.pid)], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`taskset could not pin the load generator: ${r.stderr.trim()}`)
}
