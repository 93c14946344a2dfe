/**
 * The planted cost of `--calibrate`, measured: the busy loop every planted GET /me runs
 * (servers/plant.ts), timed here in a loop of its own — CPU time (user + system) over batches of
 * calls, the median batch — so that the cost the calibration plants is a measurement, not a
 * setting. It runs in the harness, pinned to the generator's core; the servers' core may run at
 * another speed (the host-speed probe times both).
 */
import { busyLoop } from '../../servers/plant.ts'

const cpuMicros = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}

/** µs of CPU per call of busyLoop(n): `batches` batches of about `batchMs` each, the median batch. */
export function loopMicros(n: number, batches = 7, batchMs = 40): number {
  // calls per batch from one timed call, at least 20
  const t0 = cpuMicros()
  busyLoop(n)
  const calls = Math.max(20, Math.round((batchMs * 1000) / Math.max(1, cpuMicros() - t0)))
  const per: number[] = []
  for (let b = 0; b < batches; b++) {
    const start = cpuMicros()
    for (let i = 0; i < calls; i++) busyLoop(n)
    per.push((cpuMicros() - start) / calls)
  }
  per.sort((a, b) => a - b)
  return per[per.length >> 1]!
}

/** The iterations whose loop costs about `micros` µs of CPU here (from the cost of a long loop, warmed up first). */
export function iterationsFor(micros: number): number {
  const probe = 200_000
  loopMicros(probe, 3, 20) // compiled and warm
  return Math.max(1, Math.round((micros * probe) / loopMicros(probe)))
}
