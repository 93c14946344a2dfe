import { GENERATOR_SATURATION_SHARE } from '../measure/probes.ts'
import type { RepeatResult } from '../results/results.ts'
import { windowResponses, type WindowMeasurement } from '../results/windows.ts'
import type { Scenario } from './scenario.ts'

/**
 * A cell's warnings: what every scenario shares (a saturated load generator, servers that counted other
 * requests than were answered), then the scenario's own. A shard's own run skips the count check: its
 * servers also counted the other shards' load, and the merged run checks the sum.
 */
export function warningsFor(repeats: readonly RepeatResult[], scenario: Scenario, shard = false): string[] {
  const s = scenario.summarize(repeats)
  const w: string[] = []
  const windows = repeats.flatMap((r) => (r.kind === 'throughput' ? r.pairs.flatMap((p) => [p.me, p.health]) : r.windows))
  const saturated = windows.length ? windows.filter((x) => x.generatorSaturated).length / windows.length : 0
  if (saturated > 0) {
    w.push(`load generator saturated (≥ ${GENERATOR_SATURATION_SHARE * 100} % of its core) in ${(saturated * 100).toFixed(0)} % of windows: requests/s there is the generator's ceiling, not the server's, and the server ran below saturation, where its CPU per request is higher (less work shared per wake-up)`)
  }
  const everyWindow = repeats.flatMap((r) => (r.kind === 'throughput' ? r.levels.flatMap((l) => l.pairs.flatMap((p) => [p.me, p.health])) : r.windows))
  const miscounted = shard ? null : miscountWarning(everyWindow)
  if (miscounted) w.push(miscounted)
  return [...w, ...(scenario.warnings?.(s, repeats) ?? [])]
}

/**
 * Windows whose servers counted more (or fewer) requests than the load generator saw answered, beyond
 * what the window itself explains: its connection errors, and one request per connection in flight when
 * the generator stopped (wrk's stop drops them: up to 63 a window at 64 connections; autocannon's
 * windows agree exactly, as in every window of a default run). More means other traffic reached the
 * servers (a shared --target), a shard's load outside the windows, or requests given up in flight, and
 * every per-request figure of that window is divided by the servers' count.
 */
export function miscountWarning(windows: readonly WindowMeasurement[]): string | null {
  const off = windows.flatMap((x) => {
    const responses = windowResponses(x)
    const d = x.serverRequests - responses
    const inFlight = Math.round((x.connectionsPerRequest ?? 0) * x.serverRequests) // the connections the window opened
    return d > x.errors + inFlight || -d > x.errors ? [{ d, share: responses > 0 ? d / responses : Infinity }] : []
  })
  if (off.length === 0) return null
  const worst = off.reduce((a, b) => (Math.abs(b.d) > Math.abs(a.d) ? b : a))
  const pct = Number.isFinite(worst.share) ? ` (${worst.share > 0 ? '+' : ''}${(worst.share * 100).toFixed(1)} %)` : ''
  return `the servers' request count differs from the responses the load generator saw in ${off.length} of ${windows.length} windows, by up to ${worst.d > 0 ? '+' : ''}${worst.d}${pct}: other traffic reached the servers, or requests were given up in flight; CPU and bytes per request there are divided by the servers' count`
}
