import type { Redis } from 'ioredis'
import type { ProcessStats } from '../../servers/instrument.ts'
import type { Instance } from '../processes/instances.ts'
import type { LoadOutcome } from '../load/load.ts'
import type { WindowMeasurement } from '../results/results.ts'

export interface RedisInfo {
  totalCommands: number
  cpuMicros: number
  usedMemoryBytes: number
}

/** Parses the fields authbench uses from an INFO reply. */
export function parseRedisInfo(text: string): RedisInfo {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:([^\\r\\n]+)`, 'm').exec(text)
    if (!m) throw new Error(`Redis INFO has no ${name}`)
    return Number(m[1])
  }
  return {
    totalCommands: field('total_commands_processed'),
    cpuMicros: Math.round((field('used_cpu_user') + field('used_cpu_sys')) * 1e6),
    usedMemoryBytes: field('used_memory'),
  }
}

export async function readRedisInfo(redis: Redis): Promise<RedisInfo> {
  return parseRedisInfo(await redis.info())
}

/** A simultaneous reading of everything a window is measured with, server side. */
export interface Sample {
  servers: ProcessStats[]
  redis: RedisInfo | null
  atMs: number
}

export async function takeSample(instances: readonly Instance[], redis: Redis | null): Promise<Sample> {
  const [servers, info] = await Promise.all([
    Promise.all(instances.map((i) => i.stats())),
    redis ? readRedisInfo(redis) : Promise.resolve(null),
  ])
  return { servers, redis: info, atMs: performance.now() }
}

/** Share of one core (per generator thread) at which the load generator is treated as the bottleneck. */
export const GENERATOR_SATURATION_SHARE = 0.9
/** Share of one core at which the servers (all instances together) are treated as saturated. */
export const SERVER_SATURATION_SHARE = 0.9

/**
 * Turns two samples around a load window into per-request figures. Everything per request is
 * divided by the servers' own request count. The INFO call that opened the window is itself one
 * Redis command, and is subtracted. Rates and utilisations divide by the load's own duration (the
 * generator's timing): the samples around it take a few ms each, which would dilute a short window.
 * Server CPU, bytes and Redis are read the same way whichever generator drove the load.
 */
export function measureWindow(path: string, before: Sample, after: Sample, load: LoadOutcome): WindowMeasurement {
  if (after.servers.length === 0) return generatorSideWindow(path, before, after, load)
  const sum = (f: (s: ProcessStats) => number, s: Sample) => s.servers.reduce((a, x) => a + f(x), 0)
  const d = (f: (s: ProcessStats) => number) => sum(f, after) - sum(f, before)
  const requests = d((s) => s.requestsTotal)
  const perReq = (x: number) => (requests > 0 ? x / requests : null)
  const durationSec = (after.atMs - before.atMs) / 1000
  const loadDurationSec = load.durationSec > 0 ? load.durationSec : durationSec
  const generatorCpuShare = load.generatorCpuMicros / 1e6 / loadDurationSec
  const redisOk = before.redis !== null && after.redis !== null
  return {
    path,
    durationSec,
    statusCodes: load.statusCodes,
    non2xx: load.non2xx,
    errors: load.errors,
    serverRequests: requests,
    loadDurationSec,
    requestsPerSec: requests / loadDurationSec,
    connectionsPerRequest: perReq(d((s) => s.connectionsTotal)),
    latencyMs: load.latencyMs,
    serverCpuMicrosPerRequest: perReq(d((s) => s.cpuUserMicros + s.cpuSystemMicros)),
    serverCpuShare: d((s) => s.cpuUserMicros + s.cpuSystemMicros) / 1e6 / loadDurationSec,
    requestBytesPerRequest: perReq(d((s) => s.bytesReadTotal)),
    responseBytesPerRequest: perReq(d((s) => s.bytesWrittenTotal)),
    redisCommandsPerRequest: redisOk ? perReq(after.redis!.totalCommands - before.redis!.totalCommands - 1) : null,
    redisCpuMicrosPerRequest: redisOk ? perReq(after.redis!.cpuMicros - before.redis!.cpuMicros) : null,
    generatorCpuShare,
    generatorSaturated: generatorCpuShare >= GENERATOR_SATURATION_SHARE * load.generatorThreads,
    gcMajorCount: d((s) => s.gcMajorTotal),
    gcPauseMs: d((s) => s.gcPauseMsTotal),
    latencyHistogram: load.latencyHistogram,
    loadStartedAtEpochMs: load.startedAtEpochMs,
  }
}

/**
 * One window: the servers (and Redis, when given) sampled around `load`, and what changed between.
 * With a `barrier` (a sharded run's rendezvous), every shard's reading brackets every shard's load and
 * nothing else: all shards meet before the opening reading (none still in its own unsynchronised load:
 * a warm-up, its logins), before the load, after it, and after the closing reading (none starts its
 * next warm-up while another still has to read).
 */
export async function measureAround(instances: readonly Instance[], redis: Redis | null, path: string, load: () => Promise<LoadOutcome>, barrier?: () => Promise<void>): Promise<WindowMeasurement> {
  await barrier?.()
  const before = await takeSample(instances, redis)
  await barrier?.()
  const outcome = await load()
  await barrier?.()
  const after = await takeSample(instances, redis)
  await barrier?.()
  return measureWindow(path, before, after, outcome)
}

/**
 * A window without the servers' own readings (target mode without stats endpoints): what the load
 * generator saw — its responses, status codes, latency, its own CPU — and null for everything the
 * servers count (CPU, bytes, connections); Redis still from INFO where given.
 */
function generatorSideWindow(path: string, before: Sample, after: Sample, load: LoadOutcome): WindowMeasurement {
  const durationSec = (after.atMs - before.atMs) / 1000
  const loadDurationSec = load.durationSec > 0 ? load.durationSec : durationSec
  const generatorCpuShare = load.generatorCpuMicros / 1e6 / loadDurationSec
  const perReq = (x: number) => (load.responses > 0 ? x / load.responses : null)
  const redisOk = before.redis !== null && after.redis !== null
  return {
    path, durationSec, statusCodes: load.statusCodes, non2xx: load.non2xx, errors: load.errors,
    serverRequests: load.responses, loadDurationSec, requestsPerSec: load.responses / loadDurationSec,
    connectionsPerRequest: null, latencyMs: load.latencyMs, serverCpuMicrosPerRequest: null,
    requestBytesPerRequest: null, responseBytesPerRequest: null,
    redisCommandsPerRequest: redisOk ? perReq(after.redis!.totalCommands - before.redis!.totalCommands - 1) : null,
    redisCpuMicrosPerRequest: redisOk ? perReq(after.redis!.cpuMicros - before.redis!.cpuMicros) : null,
    generatorCpuShare, generatorSaturated: generatorCpuShare >= GENERATOR_SATURATION_SHARE * load.generatorThreads,
    latencyHistogram: load.latencyHistogram, loadStartedAtEpochMs: load.startedAtEpochMs,
  }
}
