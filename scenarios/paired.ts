/**
 * Two servers measured in the same cell, their windows alternating A B, B A, … on the same cores, so
 * that a slow phase of the host hits both alike: the engine of `calibration` (a planted cost against
 * none) and `ab` (a baseline version against this one). Each block is one /me–/health pair on each
 * server, at the run's lowest `--connections` level; a repeat stores A's pairs, then B's, as its
 * windows, and its summary reads the blocks back: one figure per block (B against A), tested as ABBA
 * sets over every repeat (harness/measure/paired-stats.ts).
 */
import { openGenerator } from '../harness/load/load.ts'
import { abbaSets, abbaTest } from '../harness/measure/paired-stats.ts'
import type { Estimate } from '../harness/measure/stats.ts'
import { estimate } from '../harness/measure/stats.ts'
import type { CellEnv } from '../harness/processes/env-spec.ts'
import type { MetricsRepeat, RepeatResult, WindowMeasurement, WindowPair } from '../harness/results/results.ts'
import type { BenchOptions } from '../harness/run/options.ts'
import type { CellPlan, ScenarioContext } from '../harness/run/scenario.ts'
import { median } from './common.ts'
import { estimateRepeatSec, levelsSec, pairsPerLevel, windowOverheadSec } from './throughput-time.ts'
import { measurePairs, preparePopulation, warmUp, type Population } from './throughput-windows.ts'

/**
 * The level it is measured at: the run's lowest (one connection by default), where each request is a
 * wake-up of its own and the CPU per request does not move with how many requests share one, as it
 * does below saturation (the 2-core machine's generator saturates before its server).
 */
export const pairedConnections = (o: Readonly<BenchOptions>) => Math.min(...o.connectionLevels)
/** Blocks per repeat: as many windows as a throughput repeat, four times over. */
export const blocksPerRepeat = (o: Readonly<BenchOptions>) => Math.max(2, 4 * pairsPerLevel(o) * o.connectionLevels.length)

/**
 * A paired repeat's length: two throughput repeats' logins and warm-ups (one per server), and in
 * place of their levels the blocks' windows, four a block (/me and /health on each server).
 */
export function pairedRepeatSec(o: Readonly<BenchOptions>, cell: CellPlan): number {
  const windowSec = o.windowSec + windowOverheadSec(o.generator, pairedConnections(o))
  return 2 * (estimateRepeatSec(o, o.repeats, cell) - levelsSec(o)) + blocksPerRepeat(o) * 4 * windowSec
}

interface Side { env: CellEnv; pop: Population }

/** Blocks of one /me–/health pair on each server, A B then B A. */
async function alternate(ctx: ScenarioContext, sides: readonly [Side, Side], blocks: number, names: readonly [string, string]): Promise<[WindowPair[], WindowPair[]]> {
  const generator = openGenerator(ctx.options.generator, ctx.options.generatorProcesses)
  const out: [WindowPair[], WindowPair[]] = [[], []]
  try {
    const c = pairedConnections(ctx.options)
    for (let k = 0; k < blocks; k++) {
      for (const side of k % 2 === 0 ? [0, 1] : [1, 0]) {
        const { env, pop } = sides[side]!
        ctx.status(`block ${k + 1}/${blocks}: ${names[side]}`)
        out[side]!.push(...(await measurePairs(env, generator, { me: pop.plansAt(c, 'me'), health: pop.plansAt(c, 'health') }, 1, ctx.options.windowSec, ctx.signal, () => {})))
      }
    }
  } finally {
    generator.close()
  }
  return out
}

/** One repeat of a paired cell: both populations, both warm-ups, then the alternating blocks. */
export async function measurePaired(ctx: ScenarioContext, cell: CellPlan, envs: readonly [CellEnv, CellEnv], index: number, names: readonly [string, string]): Promise<[WindowPair[], WindowPair[]]> {
  const sides: [Side, Side] = [{ env: envs[0], pop: await preparePopulation(ctx, envs[0], cell) }, { env: envs[1], pop: await preparePopulation(ctx, envs[1], cell) }]
  const generator = openGenerator(ctx.options.generator, ctx.options.generatorProcesses)
  try {
    for (const s of sides) await warmUp(s.env, ctx.options, generator, s.pop.plansAt, pairedConnections(ctx.options), index, ctx.signal)
  } finally {
    generator.close()
  }
  return alternate(ctx, sides, blocksPerRepeat(ctx.options), names)
}

/**
 * A's CPU per /me before anything is planted: its population, its first warm-up, then `pairs` /me–/health
 * pairs at the paired level; the median of their /me windows (null: none answered).
 */
export async function pilotMeCpu(ctx: ScenarioContext, cell: CellPlan, env: CellEnv, pairs: number): Promise<number | null> {
  const pop = await preparePopulation(ctx, env, cell)
  const generator = openGenerator(ctx.options.generator, ctx.options.generatorProcesses)
  try {
    const c = pairedConnections(ctx.options)
    await warmUp(env, ctx.options, generator, pop.plansAt, c, 0, ctx.signal)
    ctx.status('pilot: the plain server\'s CPU per /me')
    const measured = await measurePairs(env, generator, { me: pop.plansAt(c, 'me'), health: pop.plansAt(c, 'health') }, pairs, ctx.options.windowSec, ctx.signal, () => {})
    return median(measured.flatMap((p) => (meCpu(p) === null ? [] : [meCpu(p)!])))
  } finally {
    generator.close()
  }
}

/** How a repeat stores its blocks: A's pairs, then B's, each as /me then /health. */
export const pairedWindows = (a: readonly WindowPair[], b: readonly WindowPair[]): WindowMeasurement[] => [...a, ...b].flatMap((p) => [p.me, p.health])

/** A repeat's blocks back from its windows. */
export function blocksOf(r: MetricsRepeat): [WindowPair[], WindowPair[]] {
  const pairs: WindowPair[] = []
  for (let i = 0; i + 1 < r.windows.length; i += 2) {
    const [me, health] = [r.windows[i]!, r.windows[i + 1]!]
    pairs.push({ me, health, cpuRatio: me.serverCpuMicrosPerRequest !== null && health.serverCpuMicrosPerRequest ? me.serverCpuMicrosPerRequest / health.serverCpuMicrosPerRequest : null })
  }
  return [pairs.slice(0, pairs.length / 2), pairs.slice(pairs.length / 2)]
}

/** Per block, f of A's pair and B's; the finite ones. */
export function perBlock(a: readonly WindowPair[], b: readonly WindowPair[], f: (x: WindowPair, y: WindowPair) => number | null): number[] {
  return a.flatMap((x, k) => {
    const v = b[k] ? f(x, b[k]) : null
    return v === null || !Number.isFinite(v) ? [] : [v]
  })
}

/** How a per-block figure reads back: a log ratio as a relative change (e^x − 1), a difference as it is. */
export type PairedScale = 'log' | 'linear'
const back = (scale: PairedScale) => (x: number) => (scale === 'log' ? Math.exp(x) - 1 : x)

/** A repeat's own figure: the mean of its ABBA sets, read back on the figure's scale (null without a set). */
export function pairedRepeat(a: readonly WindowPair[], b: readonly WindowPair[], f: (x: WindowPair, y: WindowPair) => number | null, scale: PairedScale): number | null {
  const sets = abbaSets(perBlock(a, b, f))
  return sets.length ? back(scale)(sets.reduce((s, x) => s + x, 0) / sets.length) : null
}

/**
 * Over a cell's repeats: the per-block figures tested as ABBA sets (harness/measure/paired-stats.ts),
 * its point the sets' mean and its CI the test's, read back on the figure's scale; n, CV, min and max
 * are the blocks'.
 */
export function pairedEstimate(repeats: readonly RepeatResult[], f: (x: WindowPair, y: WindowPair) => number | null, scale: PairedScale): Estimate | null {
  const groups = repeats.filter((r): r is MetricsRepeat => r.kind === 'metrics').map((r) => perBlock(...blocksOf(r), f))
  const read = back(scale)
  const blocks = estimate(groups.flat().map(read))
  const t = abbaTest(groups)
  if (!blocks || !t) return blocks
  const point = read(t.mean)
  const ci95: [number, number] = [read(t.ci95[0]), read(t.ci95[1])]
  return { ...blocks, median: point, ci95, ciHalfWidthRel: point !== 0 ? Math.max(point - ci95[0], ci95[1] - point) / Math.abs(point) : null }
}

export const meCpu = (p: WindowPair) => p.me.serverCpuMicrosPerRequest
const logOf = (x: number | null, y: number | null) => (x && y && x > 0 && y > 0 ? Math.log(y / x) : null)
/** log of B's /me ÷ /health over A's: the CPU ratio's change within one block. */
export const logRatioChange = (x: WindowPair, y: WindowPair) => logOf(x.cpuRatio, y.cpuRatio)
/** log of B's CPU per /me over A's, within one block. */
export const logMeChange = (x: WindowPair, y: WindowPair) => logOf(meCpu(x), meCpu(y))
