/**
 * The host's own speed under a run. On a shared VM the same server work takes up to twice as long for
 * tens of seconds at a time (servers/speed-loop.ts); a throughput repeat measured in such a phase has
 * every CPU-per-request figure inflated, and its ratios shifted, because a slow phase does not slow
 * every path alike. Each throughput repeat times the probe on both sides of its windows; this module
 * reads those probes into a summary for results.json, a warning, and compare.
 */
import { median } from 'simple-statistics'
import { readSpeed, type SpeedReading } from '../../servers/speed-loop.ts'
import type { Instance } from '../processes/instances.ts'
import type { Cell, CoreSpeed, HostSpeedProbe, HostSpeedSummary, LoopSpeed, SlowHostShift, ThroughputRepeat, WindowPair } from '../results/results.ts'

/**
 * A syscall-loop reading at this many times its core's fastest in the run marks a slow host: on the
 * reference machine the loop read 1 430–1 580 µs in fast phases and 1 940–2 270 µs in slow ones
 * (servers/speed-loop.ts), i.e. ≤ 1.10× and ≥ 1.35× the fastest.
 */
export const SLOW_HOST_FACTOR = 1.25

/** Reads the probe in the first server instance (the servers' core), then here (the load generator's core). */
export async function probeHostSpeed(instances: readonly Instance[]): Promise<{ serverCore: SpeedReading; generatorCore: SpeedReading }> {
  const server = await instances[0]!.stats({ speed: true })
  return { serverCore: server.speed ?? { cpuLoopMicros: Number.NaN, syscallLoopMicros: Number.NaN }, generatorCore: readSpeed() }
}

function loopSpeed(micros: readonly number[], factor: number): LoopSpeed {
  const fastest = Math.min(...micros)
  return { fastestMicros: fastest, medianMicros: median(micros), slowestMicros: Math.max(...micros), slowReadings: micros.filter((m) => m >= factor * fastest).length }
}

type Probed = ThroughputRepeat & { hostSpeed: HostSpeedProbe }
const finite = (xs: readonly number[]) => xs.filter((x) => Number.isFinite(x) && x > 0)
const pairMedian = (pairs: readonly WindowPair[], f: (p: WindowPair) => number | null | undefined): number | null => {
  const xs = pairs.map(f).filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
  return xs.length ? median(xs) : null
}

/**
 * Pure: the host's speed over every throughput repeat of the run that carries probes, which repeats ran
 * on a slow servers' core, and by how much each level's CPU ratio (and /health cost) read differently in
 * those repeats than in the others, per cell with at least two of each. null without probes.
 */
export function summarizeHostSpeed(cells: readonly Cell[], factor = SLOW_HOST_FACTOR): HostSpeedSummary | null {
  const byCell = cells
    .filter((c) => 'repeats' in c) // only throughput repeats carry probes: the kind check below keeps them
    .map((c) => (c as Extract<Cell, { repeats: unknown }>).repeats.filter((r): r is Probed => r.kind === 'throughput' && r.hostSpeed !== undefined))
    .filter((rs) => rs.length > 0)
  const all = byCell.flat()
  const readings = (core: keyof HostSpeedProbe, loop: keyof SpeedReading) => finite(all.flatMap((r) => r.hostSpeed[core].map((x) => x[loop])))
  const coreSpeed = (core: keyof HostSpeedProbe): CoreSpeed | null => {
    const [cpu, syscall] = [readings(core, 'cpuLoopMicros'), readings(core, 'syscallLoopMicros')]
    return cpu.length && syscall.length ? { cpuLoop: loopSpeed(cpu, factor), syscallLoop: loopSpeed(syscall, factor) } : null
  }
  const [serverCore, generatorCore] = [coreSpeed('serverCore'), coreSpeed('generatorCore')]
  if (!serverCore || !generatorCore) return null
  const slowReading = (x: SpeedReading | undefined) => x !== undefined && x.syscallLoopMicros >= factor * serverCore.syscallLoop.fastestMicros
  const slow = (r: Probed) => r.hostSpeed.serverCore.some(slowReading)
  /** The readings on either side of a level's windows (older layouts: every reading of the repeat). */
  const slowAt = (r: Probed, connections: number) => {
    const k = r.levels.findIndex((l) => l.connections === connections)
    const server = r.hostSpeed.serverCore
    return server.length === (r.levels?.length ?? 0) + 1 && k !== -1 ? slowReading(server[k]) || slowReading(server[k + 1]) : slow(r)
  }
  const levels = [...new Set(all.flatMap((r) => r.levels.map((l) => l.connections)))].sort((a, b) => a - b)
  const shifts: SlowHostShift[] = levels.map((connections) => {
    const shift: SlowHostShift = { connections, cells: 0, ratioShiftsRel: [], healthCpuShiftsRel: [] }
    for (const repeats of byCell) {
      const at = (rs: typeof repeats, f: (p: WindowPair) => number | null | undefined) => finite(rs.map((r) => pairMedian(r.levels.find((l) => l.connections === connections)?.pairs ?? [], f) ?? Number.NaN))
      const [slowRs, fastRs] = [repeats.filter((r) => slowAt(r, connections)), repeats.filter((r) => !slowAt(r, connections))]
      const [slowRatio, fastRatio] = [at(slowRs, (p) => p.cpuRatio), at(fastRs, (p) => p.cpuRatio)]
      if (slowRatio.length < 2 || fastRatio.length < 2) continue
      const [slowHealth, fastHealth] = [at(slowRs, (p) => p.health.serverCpuMicrosPerRequest), at(fastRs, (p) => p.health.serverCpuMicrosPerRequest)]
      shift.cells++
      shift.ratioShiftsRel.push(median(slowRatio) / median(fastRatio) - 1)
      if (slowHealth.length && fastHealth.length) shift.healthCpuShiftsRel.push(median(slowHealth) / median(fastHealth) - 1)
    }
    return shift
  })
  return { repeats: all.length, serverCore, generatorCore, slowFactor: factor, slowRepeats: all.filter(slow).length, shifts }
}

const pct = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(0)} %`
const ms = (us: number) => `${(us / 1000).toFixed(2)} ms`

/** The host's speed in one line (to follow "host speed, "), for the method text: each loop's range on each core. */
export function hostSpeedLine(h: HostSpeedSummary): string {
  const loop = (l: LoopSpeed) => `${ms(l.fastestMicros)}–${ms(l.slowestMicros)} (median ${ms(l.medianMicros)}, ${(l.slowestMicros / l.fastestMicros).toFixed(2)}× at worst)`
  const core = (c: CoreSpeed) => `syscall loop ${loop(c.syscallLoop)}, integer loop ${loop(c.cpuLoop)}`
  return `timed around each of ${h.repeats} throughput repeats: on the servers' core ${core(h.serverCore)}; on the load generator's core ${core(h.generatorCore)}; slow host (syscall loop ≥ ${h.slowFactor}× its fastest on the servers' core) in ${h.slowRepeats} repeats`
}

/** The warning for a run whose servers' core ran slow in some repeats (null: it never did). */
export function hostSpeedWarning(h: HostSpeedSummary): string | null {
  if (h.slowRepeats === 0) return null
  const effects = h.shifts.filter((s) => s.cells > 0).map((s) => {
    const r = median(s.ratioShiftsRel)
    const health = s.healthCpuShiftsRel.length ? `, CPU per /health ${pct(median(s.healthCpuShiftsRel))}` : ''
    return `at ${s.connections} connection${s.connections === 1 ? '' : 's'} the CPU ratio read ${pct(r)} (median of ${s.cells} cell${s.cells === 1 ? '' : 's'}; ${pct(Math.min(...s.ratioShiftsRel))} to ${pct(Math.max(...s.ratioShiftsRel))})${health}`
  })
  const c = h.serverCore
  return `the host ran slow during ${h.slowRepeats} of ${h.repeats} throughput repeats: a syscall loop on the servers' core took up to ${(c.syscallLoop.slowestMicros / c.syscallLoop.fastestMicros).toFixed(2)}× its fastest time in this run (≥ ${h.slowFactor}× counts as slow; an integer loop, up to ${(c.cpuLoop.slowestMicros / c.cpuLoop.fastestMicros).toFixed(2)}×). `
    + 'CPU per request and requests/s from those repeats are the host\'s weather, and a slow phase does not slow every path alike: '
    + (effects.length ? `in slow repeats against the others, ${effects.join('; ')}. ` : 'too few slow repeats per cell to say by how much the ratios moved. ')
    + 'The CIs include these repeats; a run on a steadier host, or a second run, tells whether a difference is the code\'s'
}
