/**
 * throughput's reading side: how a cell's repeats become its summary — each level's load and figures,
 * the headline level and why, the cross-check — and the warnings a summary calls for. Pure functions
 * of stored repeats (the report and compare summarise old runs afresh with them).
 */
import type {
  CellSummary, CrossCheckRepeat, CrossCheckSummary, HeadlineBasis, RepeatResult, ThroughputLevelSummary,
  ThroughputRepeat, ThroughputSummary, WindowMeasurement, WindowPair,
} from '../harness/results/results.ts'
import { SERVER_SATURATION_SHARE } from '../harness/measure/probes.ts'
import { BEFORE_SWEEP_REASON } from '../harness/results/migrate.ts'
import { CI_TARGET_REL, estimate, repeatsEstimate, type Estimate } from '../harness/measure/stats.ts'
import { median } from './common.ts'

/** The two generators' CPU ratios may differ by this much (relative) before the cross-check flags the cell. */
export const CROSS_CHECK_TOLERANCE_REL = 0.1

/**
 * Measured on the 2-core reference machine (default throughput cells, two runs per generator): wrk
 * saturated the server's core at 10 and 64 connections using a third to a half of its own; autocannon
 * ran out of its core first. Same code, two runs each: 16 of 21 ratios inside each other's 95 % CI
 * with wrk, 9 of 21 with autocannon.
 */
export const GENERATOR_ADVICE = '--generator wrk (Debian\'s wrk) saturated the server at 10 and 64 connections on a 2-core machine, where two runs then agreed on 16 of 21 ratios (autocannon: 9 of 21)'

/** How variable requests/s may be between windows (coefficient of variation) before a cell is flagged. */
export const RPS_CV_FLAG = 0.1

/** A throughput cell's own warnings: the headline level's basis, the cross-check, precision, stability. */
export function throughputWarnings(s: CellSummary): string[] {
  if (s.kind !== 'throughput') return []
  const w: string[] = []
  if (s.generator === 'autocannon' && s.levels.length > 1 && s.headlineBasis !== 'server-saturated') {
    const headline = s.headlineConnections === null ? 'the lowest level' : `${s.headlineConnections} connection${s.headlineConnections === 1 ? '' : 's'}`
    w.push(`no level saturated the server without saturating autocannon (one thread): above ${headline}, the headline, its /me and /health windows ran at unequal server loads, so their ratios move with the generator's speed from run to run. ${GENERATOR_ADVICE}`)
  }
  if (s.crossCheck?.state === 'measured' && s.crossCheck.warning) w.push(s.crossCheck.warning)
  if (s.cpuRatio?.ciHalfWidthRel != null && s.cpuRatio.ciHalfWidthRel > CI_TARGET_REL) {
    w.push(`high variation: CPU-ratio 95 % CI is ±${(s.cpuRatio.ciHalfWidthRel * 100).toFixed(1)} % of the median (target ±${CI_TARGET_REL * 100} %); run more repeats or longer`)
  }
  if (s.meRequestsPerSec?.cv != null && s.meRequestsPerSec.cv > RPS_CV_FLAG) {
    w.push(`requests/s varies a lot between windows (CV ${(s.meRequestsPerSec.cv * 100).toFixed(0)} %): compare ratios and CPU per request, not absolute requests/s`)
  }
  if (!s.requestBytesStable && s.meRequestBytes) {
    w.push(`request bytes differed between repeats (${s.meRequestBytes.min.toFixed(1)}–${s.meRequestBytes.max.toFixed(1)} B): each repeat logs in a fresh population and this credential's length varies from login to login`)
  }
  if (s.non2xx > 0 || s.errors > 0) w.push(`${s.non2xx} non-2xx responses and ${s.errors} errors in measured windows`)
  return w
}

/** What the headline rule needs to know about a level. */
export interface LevelLoad {
  connections: number
  /** The lower of the median server utilisations of its /me and /health windows (share of one core); null if unknown. */
  serverCpuShare: number | null
  generatorSaturated: boolean
}

export interface HeadlineChoice {
  connections: number
  basis: HeadlineBasis
  reason: string
}

const percent = (x: number | null) => (x === null ? 'unknown' : `${Math.round(x * 100)} %`)
const conns = (n: number) => `${n} connection${n === 1 ? '' : 's'}`

/**
 * Pure: the level whose figures are the headline. The highest level where the server was saturated
 * (≥ SERVER_SATURATION_SHARE of a core) and the load generator was not: there the server's own cost at
 * full load is measured, not the generator's ceiling. Without one, the highest level where the
 * generator was not saturated; when it was saturated everywhere, the lowest level. null without levels.
 */
export function chooseHeadlineLevel(levels: readonly LevelLoad[]): HeadlineChoice | null {
  if (levels.length === 0) return null
  const sorted = [...levels].sort((a, b) => a.connections - b.connections)
  const saturated = (l: LevelLoad) => l.serverCpuShare !== null && l.serverCpuShare >= SERVER_SATURATION_SHARE
  const seen = `server utilisation by connections: ${sorted.map((l) => `${l.connections} → ${percent(l.serverCpuShare)}${l.generatorSaturated ? ' (generator saturated)' : ''}`).join(', ')}`
  const best = sorted.filter((l) => saturated(l) && !l.generatorSaturated).at(-1)
  if (best) return { connections: best.connections, basis: 'server-saturated', reason: `${conns(best.connections)}: the highest level where the server was saturated and the load generator was not (${seen})` }
  const free = sorted.filter((l) => !l.generatorSaturated).at(-1)
  if (free) return { connections: free.connections, basis: 'generator-unsaturated', reason: `${conns(free.connections)}: no level saturated the server (≥ ${percent(SERVER_SATURATION_SHARE)} of a core) without saturating the load generator; the highest level where the generator was not saturated (${seen})` }
  const low = sorted[0]!
  return { connections: low.connections, basis: 'generator-saturated', reason: `${conns(low.connections)}: the load generator was saturated at every level, so requests/s is its ceiling; the lowest level (${seen})` }
}

const known = (xs: ReadonlyArray<number | null | undefined>) => xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x))

/** Utilisation and generator saturation of a level, from its pairs (grouped by repeat). */
export function levelLoad(connections: number, groups: ReadonlyArray<readonly WindowPair[]>): LevelLoad {
  const pairs = groups.flat()
  const me = median(known(pairs.map((p) => p.me.serverCpuShare)))
  const health = median(known(pairs.map((p) => p.health.serverCpuShare)))
  const mostly = (ws: WindowMeasurement[]) => ws.length > 0 && ws.filter((w) => w.generatorSaturated).length * 2 >= ws.length
  return {
    connections,
    serverCpuShare: me === null || health === null ? null : Math.min(me, health),
    generatorSaturated: mostly(pairs.map((p) => p.me)) || mostly(pairs.map((p) => p.health)),
  }
}

type PairFigures = Omit<ThroughputLevelSummary, 'connections'>

/** Every per-pair figure over pairs grouped by repeat: pooled median, CI over the repeats (`repeatsEstimate`). */
function pairFigures(groups: ReadonlyArray<readonly WindowPair[]>, connections: number): PairFigures {
  const of = (f: (p: WindowPair) => number | null | undefined): Estimate | null => repeatsEstimate(groups.map((g) => known(g.map(f))))
  const windows = groups.flat().flatMap((p) => [p.me, p.health])
  const load = levelLoad(connections, groups)
  return {
    cpuRatio: of((p) => p.cpuRatio),
    cpuRatioPerRepeat: groups.map((g) => median(known(g.map((p) => p.cpuRatio)))),
    meCpuMicrosPerRequest: of((p) => p.me.serverCpuMicrosPerRequest),
    healthCpuMicrosPerRequest: of((p) => p.health.serverCpuMicrosPerRequest),
    meRequestsPerSec: of((p) => p.me.requestsPerSec),
    healthRequestsPerSec: of((p) => p.health.requestsPerSec),
    meLatencyP50Ms: of((p) => p.me.latencyMs.p50),
    meLatencyP99Ms: of((p) => p.me.latencyMs.p99),
    redisCommandsPerRequest: of((p) => p.me.redisCommandsPerRequest),
    redisCpuMicrosPerRequest: of((p) => p.me.redisCpuMicrosPerRequest),
    meServerCpuShare: of((p) => p.me.serverCpuShare),
    healthServerCpuShare: of((p) => p.health.serverCpuShare),
    generatorCpuShare: estimate(windows.map((w) => w.generatorCpuShare)),
    serverSaturated: load.serverCpuShare !== null && load.serverCpuShare >= SERVER_SATURATION_SHARE,
    generatorSaturated: load.generatorSaturated,
    saturatedWindowShare: windows.length ? windows.filter((w) => w.generatorSaturated).length / windows.length : 0,
  }
}

/**
 * Pure: every level's figures over all repeats, and the headline figures at the level
 * `chooseHeadlineLevel` picks from them. CIs are Yuen's over the repeats' own medians
 * (`repeatsEstimate`: the repeats are the independent units, minutes apart, where the pairs inside
 * one are seconds apart), so drift between repeats widens them as it should.
 */
export function summarizeThroughput(all: readonly RepeatResult[]): ThroughputSummary {
  const repeats = all.filter((r): r is ThroughputRepeat => r.kind === 'throughput')
  const connections = [...new Set(repeats.flatMap((r) => r.levels.map((l) => l.connections)))].sort((a, b) => a - b)
  const pairsAt = (c: number) => repeats.map((r) => r.levels.find((l) => l.connections === c)?.pairs ?? [])
  const levels: ThroughputLevelSummary[] = connections.map((c) => ({ connections: c, ...pairFigures(pairsAt(c), c) }))
  const choice = chooseHeadlineLevel(levels.map((l) => levelLoad(l.connections, pairsAt(l.connections))))
  // migrated from before the sweep (no levels): one unnamed level, the repeats' pairs
  const head: PairFigures = choice ? levels.find((l) => l.connections === choice.connections)! : pairFigures(repeats.map((r) => r.pairs), 0)
  const everyWindow = repeats.flatMap((r) => [
    ...(r.levels.length > 0 ? r.levels.flatMap((l) => l.pairs) : r.pairs),
    ...(r.crossCheck?.state === 'measured' ? r.crossCheck.pairs : []),
  ]).flatMap((p) => [p.me, p.health])
  const reqBytes = repeats.map((r) => r.bytes.meRequestBytes)
  return {
    kind: 'throughput',
    generator: repeats[0]?.generator ?? 'autocannon',
    headlineConnections: choice?.connections ?? null,
    headlineBasis: choice?.basis ?? null,
    headlineReason: choice?.reason ?? BEFORE_SWEEP_REASON,
    cpuRatioPerRepeat: head.cpuRatioPerRepeat,
    levels,
    verifyCacheRegime: repeats.at(-1)?.verifyCacheRegime ?? null,
    crossCheck: crossCheckSummary(repeats, levels),
    cpuRatio: head.cpuRatio,
    meCpuMicrosPerRequest: head.meCpuMicrosPerRequest,
    healthCpuMicrosPerRequest: head.healthCpuMicrosPerRequest,
    meRequestsPerSec: head.meRequestsPerSec,
    healthRequestsPerSec: head.healthRequestsPerSec,
    meLatencyP50Ms: head.meLatencyP50Ms,
    meLatencyP99Ms: head.meLatencyP99Ms,
    meRequestBytes: estimate(known(reqBytes)),
    meResponseBytes: estimate(known(repeats.map((r) => r.bytes.meResponseBytes))),
    redisCommandsPerRequest: head.redisCommandsPerRequest,
    redisCpuMicrosPerRequest: head.redisCpuMicrosPerRequest,
    requestBytesStable: reqBytes.every((b) => b === reqBytes[0]),
    saturatedWindowShare: head.saturatedWindowShare,
    non2xx: everyWindow.reduce((n, w) => n + w.non2xx, 0),
    errors: everyWindow.reduce((n, w) => n + w.errors, 0),
  }
}

/** The cross-check beside the cell's own ratio at the same connections (the last one recorded, if several). */
function crossCheckSummary(repeats: readonly ThroughputRepeat[], levels: readonly ThroughputLevelSummary[]): CrossCheckSummary | null {
  const cc = repeats.map((r) => r.crossCheck).filter((c): c is CrossCheckRepeat => c !== undefined).at(-1)
  if (!cc) return null
  if (cc.state === 'skipped') return cc
  // the own generator's pairs measured in turn with the other's; migrated from before: the level's median
  const primary = cc.primaryPairs ? estimate(known(cc.primaryPairs.map((p) => p.cpuRatio)))?.median ?? null : levels.find((l) => l.connections === cc.connections)?.cpuRatio?.median ?? null
  const other = estimate(known(cc.pairs.map((p) => p.cpuRatio)))
  const differenceRel = primary !== null && other !== null && primary !== 0 ? other.median / primary - 1 : null
  const disagrees = differenceRel !== null && Math.abs(differenceRel) > CROSS_CHECK_TOLERANCE_REL
  const mine = repeats[0]?.generator ?? 'autocannon'
  const level = levels.find((l) => l.connections === cc.connections)
  const load = {
    primaryMeRequestsPerSec: cc.primaryPairs ? median(known(cc.primaryPairs.map((p) => p.me.requestsPerSec))) : level?.meRequestsPerSec?.median ?? null,
    otherMeRequestsPerSec: median(known(cc.pairs.map((p) => p.me.requestsPerSec))),
    primaryServerCpuShare: cc.primaryPairs ? median(known(cc.primaryPairs.map((p) => p.me.serverCpuShare))) : level?.meServerCpuShare?.median ?? null,
    otherServerCpuShare: median(known(cc.pairs.map((p) => p.me.serverCpuShare))),
  }
  const rateRatio = load.primaryMeRequestsPerSec && load.otherMeRequestsPerSec ? load.otherMeRequestsPerSec / load.primaryMeRequestsPerSec : null
  // a different rate at the same connection count is a different load: say so, with both utilisations
  const why = rateRatio !== null && Math.abs(rateRatio - 1) > CROSS_CHECK_TOLERANCE_REL
    ? `; but ${cc.generator} drove ${rateRatio.toFixed(2)}× the requests/s (server ${percent(load.otherServerCpuShare)} busy against ${percent(load.primaryServerCpuShare)}): the same connection count was not the same load, and cost per request is a curve against load — compare at 1 connection, where both keep one request in flight`
    : ': this ratio depends on the load generator'
  return {
    state: 'measured',
    generator: cc.generator,
    connections: cc.connections,
    primaryCpuRatio: primary,
    otherCpuRatio: other,
    differenceRel,
    disagrees,
    load,
    warning: disagrees
      ? `cross-check: at ${conns(cc.connections)} ${cc.generator} measured a CPU ratio of ${other!.median.toFixed(2)}, ${mine} ${primary!.toFixed(2)} (${differenceRel! > 0 ? '+' : ''}${(differenceRel! * 100).toFixed(0)} %, beyond ±${CROSS_CHECK_TOLERANCE_REL * 100} %)${why}`
      : null,
  }
}
