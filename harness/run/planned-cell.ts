/** A cell as a run plans it: skipped with the reason (no Redis, target mode, the scenario's own), or waiting for its first repeat. */
import { STRATEGIES } from '../../servers/strategies/index.ts'
import type { Cell, RunResults } from '../results/results.ts'
import type { BenchOptions } from './options.ts'
import { targetSkipReason } from './plan.ts'
import type { CellPlan, Scenario } from './scenario.ts'

export function plannedCell(scenario: Scenario, plan: CellPlan, options: Readonly<BenchOptions>, redis: RunResults['redis']): Cell {
  const targetMode = options.targets.length > 0
  const base = { id: plan.id, scenario: scenario.name, strategy: plan.env.strategy, profile: plan.env.profile, alg: plan.env.alg, instances: plan.env.instances, claims: plan.claims, warnings: plannedWarnings(plan, options, scenario) }
  // target mode: the targets have a Redis of their own; without REDIS_URL only its figures are missing
  const noRedis = STRATEGIES[plan.env.strategy].needsRedis && redis.source === 'none' && !targetMode
  const skipReason = noRedis ? redis.note ?? 'no Redis' : plan.skipReason ?? targetSkipReason(scenario, plan, options)
  return skipReason !== undefined ? { ...base, state: 'skipped', reason: skipReason } : { ...base, state: 'partial', reason: 'not started', repeats: [], summary: null }
}

/** What a cell says before it runs: in target mode, the server options it expects the targets to have been started with. */
export function plannedWarnings(plan: CellPlan, options: Readonly<BenchOptions>, scenario?: Scenario): string[] {
  if (options.targets.length === 0) return []
  const args = plan.env.serverArgs ?? []
  return [
    ...(args.length ? [`target mode: this cell expects the targets to run with ${args.join(' ')}; authbench did not start them and cannot check it (a JWT's own lifetime is recorded where there is one)`] : []),
    ...(scenario?.targetMode === 'stats-optional' && options.targetStats.length === 0
      ? ['target mode without --target-stats: generator-side figures only (requests/s, latency, status codes); the servers\' CPU per request, its ratio to /health, bytes and utilisation are not measured']
      : []),
  ]
}
