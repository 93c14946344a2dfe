/**
 * A known cost, planted on purpose (`--plant-me-iterations n`, for `npm run bench -- --calibrate`):
 * n rounds of an integer recurrence on every GET /me, nothing else. The harness times the same loop
 * beside the run (harness/measure/plant-loop.ts), so the cost it plants is measured, not assumed, and
 * then checks that the servers' CPU per /me rises by as much.
 */

/** Where each loop's result goes, so that the compiler cannot drop the loop as dead code. */
let sink = 0

/** n rounds of a linear congruential step: CPU work with no allocation, no memory traffic, no I/O. */
export function busyLoop(n: number): number {
  let x = sink | 1
  for (let i = 0; i < n; i++) x = (Math.imul(x, 1103515245) + 12345) | 0
  sink = x
  return x
}
