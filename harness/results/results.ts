import type { MechanismCosts } from '../measure/mechanisms.ts'
import { writeFileAtomic } from './atomic-file.ts'
import type { Estimate } from '../measure/stats.ts'
import type { HostSpeedSummary, ThroughputRepeat, ThroughputSummary } from './throughput-results.ts'
import type { WindowMeasurement } from './windows.ts'

export type * from './throughput-results.ts'
export type * from './windows.ts'

/**
 * results.json: the contract between measuring and reporting (schema: harness/results/results.schema.json).
 * Measuring code writes it; report and compare code only read it. Units live in the field names.
 */
export const RESULTS_SCHEMA_VERSION = 3

/**
 * A repeat of a scenario that measures named quantities. Every metric name carries its unit
 * (`…Ms`, `…Sec`, `…Bytes`, `…MicrosPerRequest`, `…Share`, `…Count`, `…Per1kAnonymousRequests`);
 * null = not measurable here, or not applicable to the strategy (a note or the scenario says why).
 */
export interface MetricsRepeat {
  kind: 'metrics'
  index: number
  startedAt: string
  metrics: Record<string, number | null>
  /** The load windows behind the metrics, when load was involved. */
  windows: WindowMeasurement[]
  notes: string[]
}

export type RepeatResult = ThroughputRepeat | MetricsRepeat

export interface MetricsSummary {
  kind: 'metrics'
  /** Median and 95 % CI of each metric over the repeats. */
  metrics: Record<string, Estimate | null>
}

export type CellSummary = ThroughputSummary | MetricsSummary

/** Who spread load over a cell's instances. */
export interface BalancerInfo {
  /** A real balancer; `multi-url`: none, clients spread their connections over the instances' URLs; `none`: one instance. */
  kind: 'haproxy' | 'nginx' | 'multi-url' | 'none'
  version: string | null
}

interface CellBase {
  id: string
  scenario: string
  strategy: string
  profile: string
  alg: string
  instances: number
  /** Who spread the load over the instances (absent when no processes were started for the cell). */
  balancer?: BalancerInfo
  /** What the cell measures, and which claims of the article it bears on. */
  claims: string[]
  warnings: string[]
}
export interface CellCompleted extends CellBase { state: 'completed'; repeats: RepeatResult[]; summary: CellSummary }
/** Interrupted or failed after some repeats: keeps what it finished. */
export interface CellPartial extends CellBase { state: 'partial'; reason: string; repeats: RepeatResult[]; summary: CellSummary | null }
export interface CellFailed extends CellBase { state: 'failed'; error: string; repeats: RepeatResult[] }
export interface CellSkipped extends CellBase { state: 'skipped'; reason: string }
export type Cell = CellCompleted | CellPartial | CellFailed | CellSkipped

export interface MachineInfo {
  cpuModel: string
  cores: number
  memoryBytes: number
  os: string
  node: string
  hostname: string
}

export interface CpuPlacement {
  method: 'taskset' | 'none'
  generatorCpus: number[]
  serverCpus: number[]
  /** Where the private redis-server runs (its own CPU is accounted separately, from INFO). */
  redisCpus: number[]
  note: string
}

export interface RunResults {
  schemaVersion: typeof RESULTS_SCHEMA_VERSION
  tool: { name: 'authbench'; version: string }
  gitSha: string | null
  status: 'running' | 'complete' | 'interrupted' | 'failed'
  /** Why the run ended early, when it did. */
  reason?: string
  startedAt: string
  finishedAt: string | null
  command: string[]
  machine: MachineInfo
  packages: Record<string, string>
  options: Record<string, unknown>
  placement: CpuPlacement
  redis: { source: 'private' | 'REDIS_URL' | 'none'; version: string | null; note?: string }
  /** A real balancer if any cell had one, else multi-url if any cell had several instances, else none (each cell: Cell.balancer). */
  balancer: BalancerInfo
  warnings: string[]
  /** Every process the run started (all stopped at its end), for the record and for checking teardown. */
  processes: Array<{ role: 'server' | 'redis' | 'balancer'; pid: number; label: string }>
  /**
   * Each mechanism's credential check alone, in a tinybench loop on the servers' core (harness/measure/mechanisms.ts),
   * measured once per run that has throughput cells; the report sets it beside each cell's auth overhead.
   */
  mechanisms?: MechanismCosts | { error: string }
  /** The host's speed under the throughput repeats (absent: no throughput repeat carried probes). */
  hostSpeed?: HostSpeedSummary
  /** A run merged from load-generator shards (`npm run merge`): how many, from which folders, the largest start skew of a window. */
  merged?: { shards: number; from: string[]; maxWindowStartSkewMs: number }
  cells: Cell[]
}

/** Writes atomically (temp file, then rename), so a reader or an interruption never sees half a file. */
export function writeResults(path: string, results: RunResults): void {
  writeFileAtomic(path, JSON.stringify(results, null, 2) + '\n', { mkdir: true })
}
