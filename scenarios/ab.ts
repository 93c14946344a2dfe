/**
 * ab (`npm run bench -- --baseline <git ref or folder>`) — "did my branch make it slower?", answered
 * in one run: every throughput configuration measured on the baseline version's server (A, built by
 * harness/processes/baseline.ts) and this checkout's (B), on the same cores, their windows alternating
 * A B, B A, … (scenarios/paired.ts), so that a slow phase of the host hits both versions alike. Each
 * repeat records both sides' CPU ratio and CPU per /me, and the paired change block by block, tested
 * as ABBA sets (harness/measure/paired-stats.ts);
 * `npm run compare -- <this run>` reads it as a comparison of two runs, tested block by block
 * (report/ab.ts).
 */
import type { CellEnv } from '../harness/processes/env-spec.ts'
import type { WindowPair } from '../harness/results/results.ts'
import type { CellPlan, MetricDecl, Scenario, ScenarioContext } from '../harness/run/scenario.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { median, metricsRepeat, summarizeMetrics } from './common.ts'
import { logMeChange, logRatioChange, meCpu, measurePaired, pairedConnections, pairedEstimate, pairedRepeat, pairedRepeatSec, pairedWindows } from './paired.ts'

export const METRICS = [
  { name: 'meCpuChangeRel', label: 'CPU per /me change', unit: 'share', meaning: 'this checkout\'s CPU per /me over the baseline\'s, minus 1, paired block by block (> 0: dearer); the more sensitive of the two, its windows being fewer', better: 'lower', headline: true },
  { name: 'cpuRatioChangeRel', label: 'CPU ratio change', unit: 'share', meaning: 'this checkout\'s /me ÷ /health over the baseline\'s, minus 1, paired block by block (> 0: dearer); it divides by /health\'s own windows, which adds their noise', better: 'lower', headline: true },
  { name: 'cpuRatioBaseline', label: 'CPU /me ÷ /health, baseline', unit: 'ratio', meaning: 'the baseline version\'s ratio (median over blocks)', better: 'lower' },
  { name: 'cpuRatioCandidate', label: 'CPU /me ÷ /health, this checkout', unit: 'ratio', meaning: 'this checkout\'s ratio (median over blocks)', better: 'lower' },
  { name: 'meCpuMicrosBaseline', label: 'CPU per /me, baseline', unit: 'µs/req', meaning: 'the baseline version\'s CPU per /me', better: 'lower' },
  { name: 'meCpuMicrosCandidate', label: 'CPU per /me, this checkout', unit: 'µs/req', meaning: 'this checkout\'s CPU per /me', better: 'lower' },
] as const satisfies readonly MetricDecl[]

/** Per cell's own env (one run's processes): the baseline's server, started once and kept for the cell's repeats. */
const BASELINE_ENVS = new WeakMap<CellEnv, Promise<CellEnv>>()

function baselineEnv(ctx: ScenarioContext, cell: CellPlan, own: CellEnv): Promise<CellEnv> {
  let env = BASELINE_ENVS.get(own)
  if (!env) {
    if (!ctx.options.baselineBundle) throw new Error('ab: no baseline bundle (run with --baseline)')
    env = ctx.orchestrator.startEnv({ ...cell.env, serverBundle: ctx.options.baselineBundle })
    BASELINE_ENVS.set(own, env)
  }
  return env
}

const values = (pairs: readonly WindowPair[], f: (p: WindowPair) => number | null) => median(pairs.flatMap((p) => {
  const v = f(p)
  return v === null || !Number.isFinite(v) ? [] : [v]
}))

export const ab: Scenario = {
  name: 'ab',
  description: 'A/B in one run (--baseline): the baseline version\'s server and this checkout\'s in the same cells, windows alternating A B B A on the same cores; the paired change of CPU per /me and of the CPU ratio per cell',
  claims: ['a change of the code, measured against its baseline (not a claim of the article)'],
  metrics: METRICS,
  targetMode: { skip: 'it starts both versions\' servers itself' },
  charts: [
    { title: 'CPU /me ÷ /health: baseline beside this checkout (95 % CI)', series: [{ metric: 'cpuRatioBaseline', group: 'baseline' }, { metric: 'cpuRatioCandidate', group: 'this checkout' }], rule: { y: 1, label: '/health = 1' } },
    { title: 'Paired change, this checkout ÷ baseline − 1 (95 % CI of the ABBA sets)', yTitle: 'change (share)', series: [{ metric: 'meCpuChangeRel', group: 'CPU per /me' }, { metric: 'cpuRatioChangeRel', group: 'CPU ratio' }], rule: { y: 0, label: 'no change' } },
  ],

  plan(o) {
    if (o.baseline === null) return []
    const cells: CellPlan[] = []
    for (const strategy of o.strategies) {
      const def = STRATEGIES[strategy]
      for (const profile of o.profiles.filter((p) => def.profiles.includes(p))) {
        for (const alg of def.family === 'jwt' ? o.algs : (['HS256'] as const)) {
          cells.push({ id: `ab/${strategy}/${profile}/${alg}`, scenario: 'ab', claims: this.claims, env: { strategy, profile, alg, instances: 1, balancer: 'none' } })
        }
      }
    }
    return cells
  },

  estimateRepeatSec: pairedRepeatSec,

  async runRepeat(ctx, env, cell, index) {
    const startedAt = new Date().toISOString()
    const [a, b] = await measurePaired(ctx, cell, [await baselineEnv(ctx, cell, env), env], index, ['baseline', 'this checkout'])
    return metricsRepeat(index, startedAt, {
      meCpuChangeRel: pairedRepeat(a, b, logMeChange, 'log'),
      cpuRatioChangeRel: pairedRepeat(a, b, logRatioChange, 'log'),
      cpuRatioBaseline: values(a, (p) => p.cpuRatio),
      cpuRatioCandidate: values(b, (p) => p.cpuRatio),
      meCpuMicrosBaseline: values(a, meCpu),
      meCpuMicrosCandidate: values(b, meCpu),
    }, pairedWindows(a, b), [`baseline ${ctx.options.baseline}${ctx.options.baselineCommit ? ` (${ctx.options.baselineCommit.slice(0, 12)})` : ''} against this checkout; blocks alternate A B, B A at ${pairedConnections(ctx.options)} connection(s)`])
  },

  summarize(repeats) {
    const base = summarizeMetrics(repeats)
    const ratio = pairedEstimate(repeats, logRatioChange, 'log')
    const me = pairedEstimate(repeats, logMeChange, 'log')
    return { ...base, metrics: { ...base.metrics, ...(ratio ? { cpuRatioChangeRel: ratio } : {}), ...(me ? { meCpuChangeRel: me } : {}) } }
  },
}
