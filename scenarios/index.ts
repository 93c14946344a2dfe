import { ab } from './ab.ts'
import { calibration } from './calibration.ts'
import { failover } from './failover.ts'
import { hostile } from './hostile.ts'
import { login } from './login.ts'
import { memory } from './memory.ts'
import { requestSize } from './request-size.ts'
import { revocation } from './revocation.ts'
import { scaleOut } from './scale-out.ts'
import { throughput } from './throughput.ts'
import type { Scenario } from '../harness/run/scenario.ts'

/** Every scenario, in the order `npm run bench` runs them. */
export const SCENARIOS: readonly Scenario[] = [throughput, requestSize, login, revocation, memory, scaleOut, failover, hostile, calibration, ab]
export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name)
