/**
 * The shape and time model of a throughput repeat: how many alternating pairs per level, how long a
 * warm-up and a login take, how long a population's credentials live. `estimateRepeatSec` feeds the
 * ETA and `--plan`; the constants were fitted on the 2-core reference machine.
 */
import type { BenchOptions } from '../harness/run/options.ts'
import type { CellPlan } from '../harness/run/scenario.ts'
import type { LoadGeneratorName } from '../harness/results/results.ts'
import { SERVER_DEFAULTS, type StrategyName } from '../servers/config.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'

const FIRST_WARMUP_FACTOR = 3
/** A cell's first repeat warms its fresh processes this many times --warmup at the highest level (not in --quick). */
export const firstWarmupFactor = (o: Readonly<BenchOptions>) => (o.quick ? 1 : FIRST_WARMUP_FACTOR)
/** A later repeat's warm-up slice, as a share of --warmup. */
export const REWARM_SHARE = 0.5
/** /me slices a later repeat's warm-up ran on average, measured (two throughput runs, 92 repeats: 3.3 and 3.2; 2–5 each), for the time model. */
const REWARM_TYPICAL_SLICES = 3.3
/** Connections per URL that send every user's request once to count the exact bytes. */
export const CALIBRATION_CONNECTIONS_PER_URL = 8
/**
 * Pairs per generator in a cross-check. They are measured in turn — a pair by one generator, a pair
 * by the other, the order turning each round — so that both ratios come from the same minutes: on
 * this machine repeats minutes apart differ by 10–30 %, which alone would fail a 10 % check.
 */
export const CROSS_CHECK_ROUNDS = 4

/**
 * Each window costs its length plus the generator's start and stop and the two samples around it;
 * autocannon starts one instance per URL, wrk a process and stops on its 100 ms tick.
 */
const REPEAT_FIXED_SEC = 0.15
const LOGIN_FIXED_SEC = 0.1
const LOGINS_PER_SEC = 1800
const CALIBRATION_REQUESTS_PER_SEC = 6000
export function windowOverheadSec(generator: LoadGeneratorName, connections: number): number {
  return generator === 'wrk' ? 0.03 : 0.03 + 0.0005 * connections
}

/** Alternating pairs per level: the measured time (durationSec) split evenly over the levels. */
export function pairsPerLevel(o: Pick<BenchOptions, 'durationSec' | 'windowSec' | 'connectionLevels'>): number {
  return Math.max(1, Math.round(o.durationSec / o.connectionLevels.length / (2 * o.windowSec)))
}

/** Ascending in even repeats, descending in odd ones, so that no level always runs on a process in the same state. */
export function levelOrder(levels: readonly number[], repeatIndex: number): number[] {
  const up = [...levels].sort((a, b) => a - b)
  return repeatIndex % 2 === 0 ? up : up.reverse()
}

/** The measured windows of one repeat, every level. */
export function levelsSec(o: Readonly<BenchOptions>): number {
  const pairs = pairsPerLevel(o)
  return o.connectionLevels.reduce((t, c) => t + pairs * 2 * (o.windowSec + windowOverheadSec(o.generator, c)), 0)
}

/** An upper bound of a repeat's length once its population is logged in: its windows, its warm-up, slack for samples and slow starts. */
export function measuredRepeatSec(o: Readonly<BenchOptions>): number {
  return 1.5 * levelsSec(o) + 2 * o.warmupSec + 1
}

/** The lifetime of the credential /me checks, as the harness starts its servers (their defaults). */
export function credentialLifetimeSec(strategy: StrategyName): number {
  const d = SERVER_DEFAULTS
  return strategy === 'refresh' ? d.refreshAccessTtlSec : STRATEGIES[strategy].family === 'jwt' ? d.jwtTtlSec : d.sessionTtlSec
}

/**
 * Whether a population `ageSec` old still has its credentials valid through a repeat of `repeatSec`,
 * with a fifth of their lifetime to spare: the lifetime of what /me checks (refresh's access tokens
 * live 60 s, so its populations are logged in again every other repeat or so).
 */
export function populationUsable(strategy: StrategyName, ageSec: number, repeatSec: number): boolean {
  return ageSec + repeatSec < 0.8 * credentialLifetimeSec(strategy)
}

/**
 * The average repeat of a cell over its `repeats`: the first logs its population in, counts bytes and
 * warms every level up; the later ones reuse them (refresh's short-lived tokens: a new login about
 * every other repeat).
 */
export function estimateRepeatSec(o: Readonly<BenchOptions>, repeats: number, cell?: CellPlan): number {
  const top = Math.max(...o.connectionLevels)
  const first = firstWarmupFactor(o) * o.warmupSec
  const warmSec = (c: number, sec: number) => (sec > 0 ? 2 * (sec + windowOverheadSec(o.generator, c)) : 0)
  const firstWarmupSec = warmSec(top, first) + o.connectionLevels.filter((c) => c !== top).reduce((t, c) => t + warmSec(c, o.warmupSec), 0)
  const slice = (c: number) => o.warmupSec * REWARM_SHARE + windowOverheadSec(o.generator, c)
  const laterWarmupSec = o.warmupSec > 0 ? (REWARM_TYPICAL_SLICES + 1) * slice(o.connectionLevels[0]!) : 0
  const loginSec = LOGIN_FIXED_SEC + o.users / LOGINS_PER_SEC + (2 * o.users) / CALIBRATION_REQUESTS_PER_SEC
  // a population outlives the scenario (minutes) unless its credentials do not: refresh's 60 s tokens
  const logins = cell && credentialLifetimeSec(cell.env.strategy) < 600 ? Math.ceil(repeats / 2) : 1
  const other = o.generator === 'wrk' ? 'autocannon' : 'wrk'
  // the cross-check runs once per cell, at (usually) the highest level
  const crossCheckSec = o.crossCheck ? CROSS_CHECK_ROUNDS * 2 * (2 * o.windowSec + windowOverheadSec(other, top) + windowOverheadSec(o.generator, top)) : 0
  const cellSec = firstWarmupSec + (repeats - 1) * laterWarmupSec + logins * loginSec + crossCheckSec
  return REPEAT_FIXED_SEC + levelsSec(o) + cellSec / repeats
}
