/** What a load generator is given and gives back: shared by autocannon (load.ts) and wrk (wrk.ts). */
import type { LatencyMs, LoadGeneratorName } from '../results/results.ts'

/** One connection's plan: where it goes and the requests it cycles through (its own users). */
export interface ConnectionPlan {
  url: string
  requests: Array<{ method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: string }>
}

export interface LoadSpec {
  connections: ConnectionPlan[]
  /** Stop after this long… */
  durationSec?: number
  /** …or after each connection has sent its requests this many times (e.g. 1 = each user once). */
  roundsPerConnection?: number
  /** Per-request timeout. */
  timeoutSec?: number
  signal?: AbortSignal
}

export interface LoadOutcome {
  statusCodes: Record<string, number>
  responses: number
  non2xx: number
  errors: number
  timeouts: number
  latencyMs: LatencyMs
  /** Response bytes as the generator counts them (headers + body), for cross-checking. */
  generatorResponseBytes: number
  /** How long the load ran, timed by the generator: first request sent to last response (wrk: its own run time). */
  durationSec: number
  /** CPU time the generator used while the load ran (all its threads). */
  generatorCpuMicros: number
  /** Threads the generator ran on (autocannon: 1); it is saturated at ≥ 90 % of a core per thread. */
  generatorThreads: number
  /**
   * Every response's latency, µs, as an HDR histogram (hdr-histogram-js compressed base64): what shards
   * merge exactly (harness/results/merge.ts); null where the generator gives none (wrk: percentiles only).
   */
  latencyHistogram: string | null
  /** When the first request went out, ms since the epoch (sub-ms): the start shards compare. */
  startedAtEpochMs: number
}

/** Something that drives closed-loop load through connection plans for a while: autocannon or wrk. */
export interface LoadGenerator {
  readonly name: LoadGeneratorName
  run(plans: ConnectionPlan[], durationSec: number, signal?: AbortSignal): Promise<LoadOutcome>
  /** Removes what the generator prepared (wrk's request files). */
  close(): void
}
