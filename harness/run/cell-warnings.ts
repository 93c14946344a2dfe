import { GENERATOR_SATURATION_SHARE } from '../measure/probes.ts'
import type { RepeatResult } from '../results/results.ts'
import type { Scenario } from './scenario.ts'

/**
 * A cell's warnings: what every scenario shares (a saturated load generator), then the scenario's own.
 */
export function warningsFor(repeats: readonly RepeatResult[], scenario: Scenario): string[] {
  const s = scenario.summarize(repeats)
  const w: string[] = []
  const windows = repeats.flatMap((r) => (r.kind === 'throughput' ? r.pairs.flatMap((p) => [p.me, p.health]) : r.windows))
  const saturated = windows.length ? windows.filter((x) => x.generatorSaturated).length / windows.length : 0
  if (saturated > 0) {
    w.push(`load generator saturated (≥ ${GENERATOR_SATURATION_SHARE * 100} % of its core) in ${(saturated * 100).toFixed(0)} % of windows: requests/s there is the generator's ceiling, not the server's, and the server ran below saturation, where its CPU per request is higher (less work shared per wake-up)`)
  }
  return [...w, ...(scenario.warnings?.(s, repeats) ?? [])]
}
