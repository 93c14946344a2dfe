import { throughput } from './throughput.ts'
import type { Scenario } from './types.ts'

/** Every scenario, in the order `npm run bench` runs them. */
export const SCENARIOS: readonly Scenario[] = [throughput]
export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name)
