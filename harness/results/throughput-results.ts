/** The throughput scenario's part of the results contract: its repeats (levels, pairs, cross-check, host-speed probes) and its summary. */
import type { SpeedReading } from '../../servers/speed-loop.ts'
import type { Estimate } from '../measure/stats.ts'
import type { BytesCalibration, ServerMemory, WindowPair } from './windows.ts'

export type LoadGeneratorName = 'autocannon' | 'wrk'

/**
 * Whether fast-jwt's verify cache (1 000 entries, @fastify/jwt in the `tuned` profile) serves most /me
 * requests: the load cycles through the whole population, so a population within the cache hits it
 * after the first round and one beyond it misses every time (LRU under a cyclic scan). null: no cache.
 */
export type VerifyCacheRegime = 'hit-dominated' | 'miss-dominated'

/** One concurrency level of a throughput repeat: alternating /me and /health windows at a fixed connection count. */
export interface ThroughputLevel {
  /** Closed-loop connections of the load generator (fewer if the population has fewer users). */
  connections: number
  pairs: WindowPair[]
}

/** The other load generator's short measurement of a cell, or why there is none. */
export type CrossCheckRepeat =
  | {
    state: 'measured'; generator: LoadGeneratorName; connections: number
    /** The other generator's pairs. */
    pairs: WindowPair[]
    /** The run's own generator's pairs, measured in turn with them (null: migrated from before they were). */
    primaryPairs: WindowPair[] | null
  }
  | { state: 'skipped'; generator: LoadGeneratorName; reason: string }

/** A repeat of the throughput scenario: alternating /me and /health windows at each concurrency level. */
export interface ThroughputRepeat {
  kind: 'throughput'
  index: number
  startedAt: string
  loginCount: number
  /**
   * Whether this repeat logged its population in and counted its bytes (true), or reused those of an
   * earlier repeat of the cell on the same processes, whose credentials were still valid (false).
   * (Migrated from before populations were reused: true, every repeat logged in.)
   */
  populationLoggedIn: boolean
  /**
   * A later repeat's warm-up: server CPU per /me request, µs, of each slice it ran at the first level it
   * measures, until the cost stopped falling (scenarios/throughput.ts `rewarm`). Absent for a first repeat
   * and in results from before it was recorded.
   */
  rewarmCpuMicrosPerRequest?: number[]
  /** The host-speed probe around this repeat's measured windows (harness/measure/host-speed.ts). Absent in results from before it was recorded. */
  hostSpeed?: HostSpeedProbe
  bytes: BytesCalibration
  /**
   * The pairs of this repeat's headline level (a copy of that level's pairs in `levels`, chosen by the
   * same rule as the summary's, on this repeat alone): one value per repeat for compare.
   */
  pairs: WindowPair[]
  /** The load generator of every measured window. */
  generator: LoadGeneratorName
  /** Every concurrency level measured, in the order measured (empty: migrated from before the sweep, `pairs` are its one level). */
  levels: ThroughputLevel[]
  /** Connections of the level `pairs` was taken from (null: migrated from before the sweep). */
  headlineConnections: number | null
  /** JWT verify-cache regime of the cell given its population (null: the strategy/profile has no cache). */
  verifyCacheRegime: VerifyCacheRegime | null
  /** With --cross-check, in one repeat of the cell: the last one it is sure to run (see crossCheckRepeat). */
  crossCheck?: CrossCheckRepeat
  memoryAfter: ServerMemory[]
  redisUsedMemoryBytes: number | null
}

/**
 * The host-speed probe (servers/speed-loop.ts: an integer loop and a syscall loop, each the fastest of
 * three timed runs) in the first server instance (the servers' core) and in the harness (the load
 * generator's core), read before each level's windows and after the last level's: reading k and k + 1
 * bracket `levels[k]`, so each core has one reading more than the repeat has levels.
 */
export interface HostSpeedProbe {
  serverCore: SpeedReading[]
  generatorCore: SpeedReading[]
}

/** One loop's readings on one core over a run, µs. */
export interface LoopSpeed {
  fastestMicros: number
  medianMicros: number
  slowestMicros: number
  /** Readings at ≥ slowFactor × fastestMicros. */
  slowReadings: number
}

export interface CoreSpeed {
  cpuLoop: LoopSpeed
  syscallLoop: LoopSpeed
}

/** How a CPU-ratio level read in repeats on a slow host against the others (harness/measure/host-speed.ts). */
export interface SlowHostShift {
  connections: number
  /** Cells with at least two repeats of each kind at this level: slow when a reading bracketing the level's windows was slow. */
  cells: number
  /** Per such cell: median ratio in slow-host repeats ÷ median ratio in the others − 1. */
  ratioShiftsRel: number[]
  /** The same for server CPU per /health request: how much slower the host made the baseline. */
  healthCpuShiftsRel: number[]
}

/** The host's speed under a run's throughput repeats, and what its slow phases did to the figures. */
export interface HostSpeedSummary {
  /** Throughput repeats with probes. */
  repeats: number
  serverCore: CoreSpeed
  generatorCore: CoreSpeed
  /** A syscall-loop reading this many times its core's fastest (in this run) counts as slow. */
  slowFactor: number
  /** Repeats with a slow syscall-loop reading on the servers' core: their CPU per request is partly the host's weather. */
  slowRepeats: number
  shifts: SlowHostShift[]
}

/** Throughput at one concurrency level, over every repeat (CIs: Student's t over the repeats' medians). */
export interface ThroughputLevelSummary {
  connections: number
  cpuRatio: Estimate | null
  /** Median CPU ratio of each repeat at this level, in repeat order (null: the repeat has none here). */
  cpuRatioPerRepeat: Array<number | null>
  meCpuMicrosPerRequest: Estimate | null
  healthCpuMicrosPerRequest: Estimate | null
  meRequestsPerSec: Estimate | null
  healthRequestsPerSec: Estimate | null
  meLatencyP50Ms: Estimate | null
  meLatencyP99Ms: Estimate | null
  redisCommandsPerRequest: Estimate | null
  redisCpuMicrosPerRequest: Estimate | null
  /** Server CPU utilisation (share of one core, all instances) in the /me and in the /health windows. */
  meServerCpuShare: Estimate | null
  healthServerCpuShare: Estimate | null
  /** Load generator CPU (share of one core) in every window of the level. */
  generatorCpuShare: Estimate | null
  /** Median utilisation of both the /me and the /health windows ≥ SERVER_SATURATION_SHARE. */
  serverSaturated: boolean
  /** The generator was saturated in at least half of the /me or of the /health windows. */
  generatorSaturated: boolean
  /** Share of this level's windows in which the generator was saturated. */
  saturatedWindowShare: number
}

/** Which level the headline figures come from, by the rule in scenarios/throughput.ts `chooseHeadlineLevel`. */
export type HeadlineBasis =
  /** The highest level where the server was saturated and the generator was not: the server's own cost at full load. */
  | 'server-saturated'
  /** No level saturated the server without saturating the generator: the highest level where the generator was not saturated. */
  | 'generator-unsaturated'
  /** The generator was saturated at every level: the lowest level. Requests/s there is the generator's ceiling. */
  | 'generator-saturated'

/** The other generator's ratio beside this cell's at the same connection count, flagged beyond ±10 %. */
export type CrossCheckSummary =
  | {
    state: 'measured'
    generator: LoadGeneratorName
    connections: number
    /** The cell's own CPU ratio at `connections` (median over all its repeats). */
    primaryCpuRatio: number | null
    /** The other generator's CPU ratio at `connections`. */
    otherCpuRatio: Estimate | null
    /** other ÷ primary − 1; null when either ratio is missing. */
    differenceRel: number | null
    /** |differenceRel| > CROSS_CHECK_TOLERANCE_REL (10 %): the number depends on the load generator. */
    disagrees: boolean
    /**
       * The load each generator made at these connections (/me windows, medians): the same connection
       * count is not the same load when one generator is faster, and per-request cost is a curve against load.
       */
    load?: { primaryMeRequestsPerSec: number | null; otherMeRequestsPerSec: number | null; primaryServerCpuShare: number | null; otherServerCpuShare: number | null }
    /** One line for the cell's warnings when it disagrees (else null). */
    warning: string | null
  }
  | { state: 'skipped'; generator: LoadGeneratorName; reason: string }

/**
 * Every headline figure (cpuRatio … redisCpuMicrosPerRequest, saturatedWindowShare) is taken at the
 * headline level (`headlineConnections`); `levels` has the same figures at every level measured.
 */
export interface ThroughputSummary {
  kind: 'throughput'
  /** Load generator of the measured windows. */
  generator: LoadGeneratorName
  /** Connections of the level the headline figures come from; null for results from before the sweep. */
  headlineConnections: number | null
  headlineBasis: HeadlineBasis | null
  /** Why that level, in one sentence (which levels saturated the server or the generator). */
  headlineReason: string
  /** Median CPU ratio of each repeat at the headline level, in repeat order: a warm-up bias shows as a falling sequence. */
  cpuRatioPerRepeat: Array<number | null>
  /** Every level measured, by ascending connections. */
  levels: ThroughputLevelSummary[]
  verifyCacheRegime: VerifyCacheRegime | null
  /** Present when the run had --cross-check. */
  crossCheck: CrossCheckSummary | null
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
  /** Share of the headline level's windows in which the generator was saturated. */
  saturatedWindowShare: number
  /** Non-2xx responses and connection errors in every measured window (all levels and the cross-check). */
  non2xx: number
  errors: number
}
