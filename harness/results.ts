import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Estimate } from './stats.ts'

/**
 * results.json: the contract between measuring and reporting (schema: harness/results.schema.json).
 * Measuring code writes it; report and compare code only read it. Units live in the field names.
 */
export const RESULTS_SCHEMA_VERSION = 1

export interface LatencyMs {
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
  mean: number
}

/** One measured window of load against one path. All per-request figures are server-side counts. */
export interface WindowMeasurement {
  path: string
  /** Wall time between the two server samples. */
  durationSec: number
  /** Responses the load generator received, by status code. */
  statusCodes: Record<string, number>
  /** Responses with a status outside 2xx, and connection errors/timeouts: never dropped. */
  non2xx: number
  errors: number
  /** Requests the servers answered in the window (their own count). */
  serverRequests: number
  requestsPerSec: number
  /** New TCP connections the servers accepted per request (≈ 0 with keep-alive; 1 = a connection per request). */
  connectionsPerRequest: number | null
  latencyMs: LatencyMs
  /** Server CPU (user + system) per answered request, summed over instances; null when no request was answered. */
  serverCpuMicrosPerRequest: number | null
  /** Bytes read from / written to client sockets per request, at the servers; null when no request was answered. */
  requestBytesPerRequest: number | null
  responseBytesPerRequest: number | null
  /** Redis deltas per request (only for Redis-backed strategies). */
  redisCommandsPerRequest: number | null
  redisCpuMicrosPerRequest: number | null
  /** CPU the load generator used, as a share of one core (1 = a full core). */
  generatorCpuShare: number
  /** The generator was the bottleneck (≥ the saturation threshold): requests/s is its ceiling, not the server's. */
  generatorSaturated: boolean
}

/** A /me window and a /health window measured seconds apart on the same instance(s). */
export interface WindowPair {
  me: WindowMeasurement
  health: WindowMeasurement
  /** serverCpuMicrosPerRequest(me) / serverCpuMicrosPerRequest(health); null if either is. */
  cpuRatio: number | null
}

export interface BytesCalibration {
  /** Requests sent: one per user of the population, per path. */
  requestsPerPath: number
  meRequestBytes: number | null
  meResponseBytes: number | null
  healthRequestBytes: number | null
  healthResponseBytes: number | null
}

export interface ServerMemory {
  rssBytes: number
  heapUsedBytes: number
}

/** A repeat of the throughput scenario: alternating /me and /health windows. */
export interface ThroughputRepeat {
  kind: 'throughput'
  index: number
  startedAt: string
  loginCount: number
  bytes: BytesCalibration
  pairs: WindowPair[]
  memoryAfter: ServerMemory[]
  redisUsedMemoryBytes: number | null
}

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

export interface ThroughputSummary {
  kind: 'throughput'
  cpuRatio: Estimate | null
  meCpuMicrosPerRequest: Estimate | null
  healthCpuMicrosPerRequest: Estimate | null
  meRequestsPerSec: Estimate | null
  healthRequestsPerSec: Estimate | null
  meLatencyP50Ms: Estimate | null
  meLatencyP99Ms: Estimate | null
  meRequestBytes: Estimate | null
  meResponseBytes: Estimate | null
  redisCommandsPerRequest: Estimate | null
  redisCpuMicrosPerRequest: Estimate | null
  /** True when every repeat measured the same request bytes. */
  requestBytesStable: boolean
  /** Share of windows in which the generator was saturated. */
  saturatedWindowShare: number
  non2xx: number
  errors: number
}

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
  cells: Cell[]
}

/** Writes atomically (temp file, then rename), so a reader or an interruption never sees half a file. */
export function writeResults(path: string, results: RunResults): void {
  mkdirSync(dirname(path), { recursive: true })
  const tmp = join(dirname(path), `.results.json.${process.pid}.tmp`)
  writeFileSync(tmp, JSON.stringify(results, null, 2) + '\n')
  renameSync(tmp, path)
}
