/**
 * The scale-out curve of a run with an instance sweep (`--instances 1,2,4,8`): per strategy, aggregate
 * requests/s at each instance count, scaling efficiency (throughput at N ÷ (N × throughput at 1)) and
 * Redis's share of a core; and the scalability verdict judged from it.
 */
import type { Cell, RunResults } from '../harness/results/results.ts'
import { cellFor, defs, isPureJwt, isSession, type Def, type Verdict } from './claim-inputs.ts'
import { fmt, isMeasured } from './model.ts'

/** JWT "scales better" than a session strategy when its efficiency at the same count is higher by more than this. */
export const EFFICIENCY_MARGIN = 0.05

export interface ScalePoint {
  instances: number
  requestsPerSec: number
  /** requestsPerSec ÷ (instances × requestsPerSec at 1 instance); null without a 1-instance cell. */
  efficiency: number | null
  /** Redis CPU as a share of one core at that throughput (null: no Redis on the path). */
  redisCoreShare: number | null
  /** The headline level saturated the servers (what a scale-out curve should compare). */
  serverSaturated: boolean
}

/** A strategy's curve: one point per instance count its throughput cells measured (empty below two counts). */
export function scaleCurve(results: RunResults, strategy: string): ScalePoint[] {
  const counts = [...new Set(results.cells.filter((c) => c.scenario === 'throughput' && c.strategy === strategy && isMeasured(c)).map((c) => c.instances))].sort((a, b) => a - b)
  if (counts.length < 2) return []
  const at = (n: number) => cellFor(results, 'throughput', strategy, (c: Cell) => c.instances === n)
  const points = counts.flatMap((n) => {
    const s = at(n)
    const summary = s && 'summary' in s ? s.summary : null
    if (summary?.kind !== 'throughput' || !summary.meRequestsPerSec) return []
    const rps = summary.meRequestsPerSec.median
    const redis = summary.redisCpuMicrosPerRequest?.median
    return [{ instances: n, requestsPerSec: rps, redisCoreShare: redis ? (redis * rps) / 1e6 : null, serverSaturated: summary.headlineBasis === 'server-saturated' }]
  })
  const one = points.find((p) => p.instances === 1)
  return points.map((p) => ({ ...p, efficiency: one ? p.requestsPerSec / (p.instances * one.requestsPerSec) : null }))
}

const describe = (d: Def, p: ScalePoint) =>
  `${d.name}: efficiency ${p.efficiency === null ? '–' : fmt(p.efficiency)} at ${p.instances} instances${p.redisCoreShare === null ? ', no shared state on the request path' : `, Redis at ${fmt(p.redisCoreShare * 100)} % of a core`}${p.serverSaturated ? '' : ' (servers not saturated)'}`

/**
 * The scalability verdict from the curve, where the run has one for plain JWT and a server-side
 * session strategy: compared at the largest instance count both measured. Null without a curve.
 */
export function scalabilityFromCurve(results: RunResults, base: Omit<Verdict, 'verdict' | 'condition' | 'values'>): Verdict | null {
  const jwtDef = defs().find(isPureJwt)
  const jwt = jwtDef ? scaleCurve(results, jwtDef.name) : []
  const sessions = defs().filter(isSession).map((d) => ({ d, curve: scaleCurve(results, d.name) })).filter((s) => s.curve.length > 0)
  if (!jwtDef || jwt.length === 0 || sessions.length === 0) return null
  const pairs = sessions.flatMap(({ d, curve }) => {
    const n = Math.max(...curve.map((p) => p.instances).filter((i) => jwt.some((q) => q.instances === i)))
    const s = curve.find((p) => p.instances === n)
    const j = jwt.find((p) => p.instances === n)
    return s && j && s.efficiency !== null && j.efficiency !== null && n > 1 ? [{ d, s, j }] : []
  })
  if (pairs.length === 0) return null
  const better = pairs.filter((x) => x.j.efficiency! - x.s.efficiency! > EFFICIENCY_MARGIN)
  const worse = pairs.filter((x) => x.s.efficiency! - x.j.efficiency! > EFFICIENCY_MARGIN)
  const sentence = pairs.map((x) => `${describe(x.d, x.s)}; ${describe(jwtDef, x.j)}`).join('; ')
  const values = pairs.flatMap((x) => [`${x.d.name} ×${x.s.instances}: ${fmt(x.s.requestsPerSec)} req/s`, `${jwtDef.name} ×${x.j.instances}: ${fmt(x.j.requestsPerSec)} req/s`])
  const verdict = better.length === pairs.length ? 'supported' : worse.length === pairs.length ? 'refuted' : 'depends'
  return { ...base, values, verdict, condition: `basis: the scale-out curve — ${sentence}` }
}
