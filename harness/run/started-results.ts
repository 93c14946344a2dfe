import { gitSha, machineInfo, packageVersions, toolVersion } from '../measure/machine.ts'
import { RESULTS_SCHEMA_VERSION, type CpuPlacement, type RunResults } from '../results/results.ts'
import type { BenchOptions } from './options.ts'

/** A run's results.json as it starts: what ran it, where, with which options; no cell yet. */
export function startedResults(options: Readonly<BenchOptions>, hooks: { command: string[]; placement: CpuPlacement }, processes: RunResults['processes']): RunResults {
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    tool: { name: 'authbench', version: toolVersion() },
    gitSha: gitSha(),
    status: 'running',
    startedAt: new Date().toISOString(),
    finishedAt: null,
    command: hooks.command,
    machine: machineInfo(),
    packages: packageVersions(),
    options: { ...options },
    placement: hooks.placement,
    redis: { source: 'none', version: null },
    balancer: { kind: 'none', version: null }, // from the cells' envs as they start
    warnings: [],
    processes,
    cells: [],
  }
}
