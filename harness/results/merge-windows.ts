/**
 * Windows measured by several load-generator shards at once, merged exactly: counts summed, latency
 * from the union of the shards' HDR histograms (percentiles are never averaged), the servers' own
 * readings taken once — from the coordinator (shard 0), which sampled the servers around its window
 * while the other shards loaded them too — and the spread of the shards' start times recorded.
 */
import * as hdr from 'hdr-histogram-js'
import type { LatencyMs } from './results.ts'
import type { WindowMeasurement, WindowPair } from './windows.ts'

export class MergeError extends Error {
  override name = 'MergeError'
}

/** Percentiles of the union of µs histograms, and the union itself (compressed base64). */
export function mergedLatency(encoded: readonly string[]): { latencyMs: LatencyMs; histogram: string } {
  const union = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 })
  for (const e of encoded) {
    const h = hdr.decodeFromCompressedBase64(e)
    union.add(h)
    h.destroy()
  }
  const ms = (p: number) => union.getValueAtPercentile(p) / 1000
  const latencyMs: LatencyMs = { p50: ms(50), p90: ms(90), p99: ms(99), p999: ms(99.9), max: union.maxValue / 1000, mean: union.mean / 1000 }
  const histogram = hdr.encodeIntoCompressedBase64(union)
  union.destroy()
  return { latencyMs, histogram }
}

/** One window of every shard (the coordinator's first) as one. */
export function mergeWindows(shards: readonly WindowMeasurement[]): WindowMeasurement {
  const [coordinator] = shards
  if (!coordinator) throw new MergeError('no window to merge')
  const histograms = shards.map((w) => w.latencyHistogram)
  if (histograms.some((h) => h === null)) throw new MergeError(`a shard's ${coordinator.path} window has no latency histogram (wrk keeps none): shards merge only autocannon windows`)
  const starts = shards.map((w) => w.loadStartedAtEpochMs)
  if (starts.some((s) => s === null)) throw new MergeError(`a shard's ${coordinator.path} window has no start time`)
  const first = Math.min(...(starts as number[]))
  // the load ran from the first shard's start to the last shard's end: rates and utilisation divide by that
  const spanSec = Math.max(...shards.map((w, k) => (starts[k]! - first) / 1000 + w.loadDurationSec))
  const statusCodes: Record<string, number> = {}
  for (const w of shards) for (const [code, n] of Object.entries(w.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n
  const { latencyMs, histogram } = mergedLatency(histograms as string[])
  const serverCpuMicros = (coordinator.serverCpuMicrosPerRequest ?? 0) * coordinator.serverRequests
  return {
    ...coordinator,
    statusCodes,
    non2xx: shards.reduce((n, w) => n + w.non2xx, 0),
    errors: shards.reduce((n, w) => n + w.errors, 0),
    loadDurationSec: spanSec,
    requestsPerSec: coordinator.serverRequests / spanSec,
    ...(coordinator.serverCpuShare === undefined ? {} : { serverCpuShare: serverCpuMicros / 1e6 / spanSec }),
    latencyMs,
    latencyHistogram: histogram,
    generatorCpuShare: Math.max(...shards.map((w) => w.generatorCpuShare)),
    generatorSaturated: shards.some((w) => w.generatorSaturated),
    loadStartedAtEpochMs: first,
    shardStartSkewMs: Math.max(...(starts as number[])) - first,
  }
}

/** A pair of every shard as one: each path merged; the ratio is the coordinator's servers' (it read both windows' CPU). */
export function mergePairs(shards: readonly WindowPair[]): WindowPair {
  return { me: mergeWindows(shards.map((p) => p.me)), health: mergeWindows(shards.map((p) => p.health)), cpuRatio: shards[0]!.cpuRatio }
}
