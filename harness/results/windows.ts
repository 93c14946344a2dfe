// The load windows every scenario's repeats record: the part of the results contract all of them share.

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
  /** Wall time between the two server samples (includes the sampling itself: slightly longer than the load). */
  durationSec: number
  /**
   * How long the load ran, timed by the load generator itself (first request to last response; wrk: its
   * own run time). requestsPerSec and serverCpuShare divide by this. (Migrated from before it was recorded: durationSec.)
   */
  loadDurationSec: number
  /** Responses the load generator received, by status code. */
  statusCodes: Record<string, number>
  /** Responses with a status outside 2xx, and connection errors/timeouts: never dropped. */
  non2xx: number
  errors: number
  /** Requests the servers answered in the window (their own count). */
  serverRequests: number
  /** serverRequests / loadDurationSec. */
  requestsPerSec: number
  /** New TCP connections the servers accepted per request (≈ 0 with keep-alive; 1 = a connection per request). */
  connectionsPerRequest: number | null
  latencyMs: LatencyMs
  /** Server CPU (user + system) per answered request, summed over instances; null when no request was answered. */
  serverCpuMicrosPerRequest: number | null
  /**
   * Server CPU utilisation while the load ran: CPU seconds of every instance / loadDurationSec, as a share
   * of one core (≈ 1 = a saturated single-core server). Absent in results from before it was recorded.
   */
  serverCpuShare?: number
  /** Bytes read from / written to client sockets per request, at the servers; null when no request was answered. */
  requestBytesPerRequest: number | null
  responseBytesPerRequest: number | null
  /** Redis deltas per request (only for Redis-backed strategies). */
  redisCommandsPerRequest: number | null
  redisCpuMicrosPerRequest: number | null
  /** CPU the load generator used while the load ran, as a share of one core (1 = a full core; wrk with several threads can use more). */
  generatorCpuShare: number
  /** The generator was the bottleneck (≥ 90 % of each of its cores): requests/s is its ceiling, not the server's. */
  generatorSaturated: boolean
  /**
   * Garbage collection inside the window, summed over instances: major (mark-compact) collections, and
   * the main-thread pause of every collection, ms. Absent in results from before it was recorded.
   */
  gcMajorCount?: number
  gcPauseMs?: number
  /** Every response's latency, µs, HDR histogram as hdr-histogram-js compressed base64 (null: wrk, or migrated from before version 3). */
  latencyHistogram: string | null
  /** When the load started, ms since the epoch (null: migrated from before version 3); shards compare it. */
  loadStartedAtEpochMs: number | null
  /** A window merged from shards (`npm run merge`): the last shard started this many ms after the first. */
  shardStartSkewMs?: number
}

/** Every response the load generator saw in a window, whatever its status. */
export const windowResponses = (w: Pick<WindowMeasurement, 'statusCodes'>): number => Object.values(w.statusCodes).reduce((a, b) => a + b, 0)

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
