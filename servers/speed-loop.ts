import { fstatSync, openSync } from 'node:fs'

/**
 * The host-speed probe: two fixed workloads, timed. The same code on the same machine takes the same
 * time unless the host runs it slower, and on a shared VM it does, in phases of tens of seconds to
 * minutes. Measured on the 2-core reference machine, one server, /health windows at 1 and 10
 * connections between probes on the server's core, 150 s: in phases covering about half of the time,
 * CPU per /health request went from 35–38 to 54–67 µs (1 connection) and from 22–25 to 40–53 µs (10),
 * while
 * - the syscall loop below went from 1 430–1 580 to 1 940–2 270 µs: it tells the phases apart;
 * - the integer loop stayed at 815–875 µs throughout: not the clock, but the kernel and the caches
 *   (a neighbour's memory traffic, VM exits), which a server's requests lean on and a register loop
 *   does not. (Earlier, outside any run, the integer loop also had 2× phases of its own.)
 * Such a phase inflates every CPU-per-request figure and, because it does not slow every path alike,
 * shifts ratios; so each throughput repeat times both loops in a server process and in the harness
 * (the load generator's core) on either side of its windows, and the run says when its host slowed.
 */

/** Iterations of one timed run of the integer loop: ≈ 0.85 ms on the reference machine. */
export const CPU_LOOP_ITERATIONS = 500_000
/** fstat calls of one timed run of the syscall loop: ≈ 1.5 ms on the reference machine in its fast phases. */
export const SYSCALL_LOOP_CALLS = 300
/** Timed runs per loop and probe; the probe keeps the fastest, so a single preemption does not count as a slow host. */
export const SPEED_LOOP_RUNS = 3

/** Untimed runs of each loop the first time a process reads the probe: the fstat path is still being compiled (measured: 4.5, then 1.0, 0.8 ms for the first readings of a fresh process, 0.66–0.73 after). */
const FIRST_WARMUP_RUNS = 20

let sink = 0
let fd: number | null = null
let warmed = false

/** A multiply-xorshift chain in registers: no allocation, no memory traffic, no kernel. */
function cpuWork(iterations: number): number {
  let x = 0x12345678 | 0
  for (let i = 0; i < iterations; i++) x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i) | 0
  return x
}

/** fstat of /dev/null, over and over: a round trip into the kernel and back, each time. */
function syscallWork(calls: number): number {
  fd ??= openSync('/dev/null', 'r')
  let s = 0
  for (let i = 0; i < calls; i++) s = (s + fstatSync(fd).mode) | 0
  return s
}

/** Wall time of `work(size)`, µs: the fastest of `runs` timed runs after an untimed one (which also gets it compiled). */
function fastest(work: (size: number) => number, size: number, runs: number): number {
  sink ^= work(size)
  let best = Infinity
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint()
    sink ^= work(size)
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1000)
  }
  return best
}

/** One reading of the probe in this process, µs per loop (wall time: the probe runs between windows, on a core with nothing else to do). */
export interface SpeedReading {
  cpuLoopMicros: number
  syscallLoopMicros: number
}

export function readSpeed(runs = SPEED_LOOP_RUNS): SpeedReading {
  if (!warmed) {
    for (let r = 0; r < FIRST_WARMUP_RUNS; r++) sink ^= cpuWork(CPU_LOOP_ITERATIONS / 10) ^ syscallWork(SYSCALL_LOOP_CALLS)
    warmed = true
  }
  return { cpuLoopMicros: fastest(cpuWork, CPU_LOOP_ITERATIONS, runs), syscallLoopMicros: fastest(syscallWork, SYSCALL_LOOP_CALLS, runs) }
}

/** Keeps the workloads' results observable, so that nothing is optimised away. */
export function speedLoopSink(): number {
  return sink
}
