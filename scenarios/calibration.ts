/**
 * calibration (`npm run bench -- --calibrate [µs]`) — the harness's own accuracy, stated in the run.
 * One strategy's server (jwt where the run has it) runs twice: as it is (A), and with a known cost
 * planted in its GET /me (B: a busy loop, servers/plant.ts). Both run on the same cores; their
 * windows alternate A B B A …, each a /me and /health pair as in throughput, so a slow phase of the
 * host hits both alike. The cost planted is timed in a loop beside the run (harness/measure/plant-loop.ts);
 * what the harness recovered is B's CPU per /me minus A's, paired block by block, with the CI of the
 * ABBA sets over every repeat (harness/measure/paired-stats.ts). The report shows planted against recovered, in µs and as the CPU ratio's change.
 */
import { iterationsFor, loopMicros } from '../harness/measure/plant-loop.ts'
import type { Estimate } from '../harness/measure/stats.ts'
import type { CellEnv } from '../harness/processes/env-spec.ts'
import type { WindowPair } from '../harness/results/results.ts'
import type { CellPlan, ChartDecl, MetricDecl, MetricNameOf, Scenario, ScenarioContext } from '../harness/run/scenario.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { median, metricsRepeat, summarizeMetrics } from './common.ts'
import { logRatioChange, meCpu, measurePaired, pairedConnections, pairedEstimate, pairedRepeat, pairedRepeatSec, pairedWindows, pilotMeCpu } from './paired.ts'

export const METRICS = [
  { name: 'recoveredMicrosPerRequest', label: 'recovered', unit: 'µs/req', meaning: 'the planted server\'s CPU per /me minus the plain one\'s, paired A B B A block by block (mean of the ABBA sets)', better: 'neither', headline: true },
  { name: 'healthAdjustedMicrosPerRequest', label: 'recovered against /health', unit: 'µs/req', meaning: 'the same with each side read against its own /health windows (B\'s /me at A\'s /health speed, minus A\'s): it adds /health\'s noise, and was the headline before the ABBA test', better: 'neither' },
  { name: 'plantedMicrosPerRequest', label: 'planted', unit: 'µs/req', meaning: 'the planted busy loop\'s CPU per call, timed in a loop beside the run (on the generator\'s core)', better: 'neither', headline: true },
  { name: 'recoveredShare', label: 'recovered ÷ planted', unit: 'ratio', meaning: '1 = the harness reads a /me cost exactly', better: 'neither' },
  { name: 'cpuRatioChangeRel', label: 'CPU ratio change', unit: 'share', meaning: 'the planted server\'s /me ÷ /health over the plain one\'s, minus 1, paired block by block', better: 'neither' },
  { name: 'plantedRatioChangeRel', label: 'planted ratio change', unit: 'share', meaning: 'the change the plant should make to the ratio: planted ÷ the plain server\'s CPU per /me', better: 'neither' },
  { name: 'plainMeCpuMicrosPerRequest', label: 'CPU per /me, plain', unit: 'µs/req', meaning: 'server A (nothing planted)', better: 'neither' },
  { name: 'plantedMeCpuMicrosPerRequest', label: 'CPU per /me, planted', unit: 'µs/req', meaning: 'server B (the loop planted)', better: 'neither' },
] as const satisfies readonly MetricDecl[]

const CHARTS: ReadonlyArray<ChartDecl<MetricNameOf<typeof METRICS>>> = [
  { title: 'CPU per /me the harness recovered (95 % CI); the red tick: what was planted', series: [{ metric: 'recoveredMicrosPerRequest' }], tick: 'plantedMicrosPerRequest' },
]

/**
 * `--calibrate` alone plants this share of the plain server's CPU per /me, measured in a pilot: about
 * what 5 µs was of jwt tuned's on the reference machine, where a fixed 5 µs was ≈ 2.6 % on a host
 * three times dearer per request, inside one run's noise there.
 */
export const PLANT_SHARE = 0.06
/** The pilot's /me–/health pairs on the plain server, before an automatic plant is sized. */
export const PILOT_PAIRS = 4

interface Planted { iterations: number; pilotMicros: number | null; env: CellEnv }

/** Per cell's own env (one run's processes): the loop's iterations (chosen once, so every repeat plants the same loop) and server B. */
const PLANTED = new WeakMap<CellEnv, Promise<Planted>>()

function plantedEnv(ctx: ScenarioContext, cell: CellPlan, own: CellEnv): Promise<Planted> {
  let p = PLANTED.get(own)
  if (!p) {
    p = (async () => {
      const asked = ctx.options.calibrateMicros
      const pilotMicros = typeof asked === 'number' ? null : await pilotMeCpu(ctx, cell, own, PILOT_PAIRS)
      if (typeof asked !== 'number' && pilotMicros === null) throw new Error('calibration pilot: the plain server answered no GET /me, so there is nothing to size the plant by')
      const iterations = iterationsFor(typeof asked === 'number' ? asked : PLANT_SHARE * pilotMicros!)
      return { iterations, pilotMicros, env: await ctx.orchestrator.startEnv({ ...cell.env, serverArgs: [...(cell.env.serverArgs ?? []), '--plant-me-iterations', String(iterations)] }) }
    })()
    PLANTED.set(own, p)
  }
  return p
}

const sizedBy = (p: Planted) => (p.pilotMicros === null ? ' (as asked)' : ` (${PLANT_SHARE * 100} % of the plain server's ${p.pilotMicros.toFixed(1)} µs per /me in a pilot of ${PILOT_PAIRS} pairs)`)

/** What one block recovered: B's CPU per /me minus A's, two windows apart. */
const recoveredIn = (x: WindowPair, y: WindowPair) => (meCpu(x) !== null && meCpu(y) !== null ? meCpu(y)! - meCpu(x)! : null)

/**
 * The same with B's CPU per /me brought to A's /health speed — B.me × (A.health ÷ B.health) − A.me —
 * which is meant to cancel the host's speed between the two windows, as throughput's CPU ratio does,
 * but adds /health's own window-to-window noise: in the A/B runs measured here, the /me change per
 * block had an SD of 15–18 % and the ratio's 20–26 %.
 */
function healthAdjustedIn(x: WindowPair, y: WindowPair): number | null {
  const [am, ah, bm, bh] = [x.me.serverCpuMicrosPerRequest, x.health.serverCpuMicrosPerRequest, y.me.serverCpuMicrosPerRequest, y.health.serverCpuMicrosPerRequest]
  return am === null || ah === null || bm === null || !bh ? null : bm * (ah / bh) - am
}

/** An estimate in other units: every figure times k (k > 0). */
const scaled = (e: Estimate, k: number): Estimate => ({
  ...e, median: e.median * k, min: e.min * k, max: e.max * k, ci95: e.ci95 && [e.ci95[0] * k, e.ci95[1] * k],
})

export const calibration: Scenario = {
  name: 'calibration',
  description: 'the harness\'s own accuracy: a known CPU cost planted in one strategy\'s GET /me (--calibrate), measured against the same server without it in alternating windows — planted against recovered',
  claims: ['the harness reads a known per-request cost back (its own accuracy, not the article\'s)'],
  metrics: METRICS,
  targetMode: { skip: 'it plants a cost in servers the harness starts' },
  charts: CHARTS,

  plan(o) {
    if (o.calibrateMicros === null) return []
    const strategy = o.strategies.includes('jwt') ? 'jwt' : o.strategies[0]!
    const def = STRATEGIES[strategy]
    const profile = o.profiles.find((p) => def.profiles.includes(p)) ?? def.profiles[0]!
    return [{ id: `calibration/${strategy}/${profile}/HS256`, scenario: 'calibration', claims: this.claims, env: { strategy, profile, alg: 'HS256', instances: 1, balancer: 'none' } }]
  },

  estimateRepeatSec: pairedRepeatSec,

  async runRepeat(ctx, env, cell, index) {
    const startedAt = new Date().toISOString()
    const planted = await plantedEnv(ctx, cell, env)
    const [a, b] = await measurePaired(ctx, cell, [env, planted.env], index, ['plain', 'planted'])
    const plantedMicros = loopMicros(planted.iterations)
    const recovered = pairedRepeat(a, b, recoveredIn, 'linear')
    const plainMe = median(a.flatMap((p) => (meCpu(p) === null ? [] : [meCpu(p)!])))
    return metricsRepeat(index, startedAt, {
      recoveredMicrosPerRequest: recovered,
      plantedMicrosPerRequest: plantedMicros,
      healthAdjustedMicrosPerRequest: pairedRepeat(a, b, healthAdjustedIn, 'linear'),
      recoveredShare: recovered === null ? null : recovered / plantedMicros,
      cpuRatioChangeRel: pairedRepeat(a, b, logRatioChange, 'log'),
      plantedRatioChangeRel: plainMe ? plantedMicros / plainMe : null,
      plainMeCpuMicrosPerRequest: plainMe,
      plantedMeCpuMicrosPerRequest: median(b.flatMap((p) => (meCpu(p) === null ? [] : [meCpu(p)!]))),
    }, pairedWindows(a, b), [`${planted.iterations} loop iterations planted per /me${sizedBy(planted)}; blocks alternate plain and planted (A B, B A, …) at ${pairedConnections(ctx.options)} connection(s)`])
  },

  // the paired figures over the blocks of every repeat, tested as ABBA sets
  summarize(repeats) {
    const base = summarizeMetrics(repeats)
    const recovered = pairedEstimate(repeats, recoveredIn, 'linear')
    const planted = base.metrics.plantedMicrosPerRequest?.median
    const paired = {
      recoveredMicrosPerRequest: recovered,
      healthAdjustedMicrosPerRequest: pairedEstimate(repeats, healthAdjustedIn, 'linear'),
      cpuRatioChangeRel: pairedEstimate(repeats, logRatioChange, 'log'),
      // the same estimate over the loop's timed cost, so that share and recovered agree
      recoveredShare: recovered && planted ? scaled(recovered, 1 / planted) : null,
    }
    return { ...base, metrics: { ...base.metrics, ...Object.fromEntries(Object.entries(paired).filter(([, e]) => e !== null)) } }
  },

  // outside its CI: a bias; a CI that holds 0 too: inside it says little, as the plant is below what this run resolves
  warnings(summary) {
    if (summary.kind !== 'metrics') return []
    const [r, p, share] = [summary.metrics.recoveredMicrosPerRequest, summary.metrics.plantedMicrosPerRequest, summary.metrics.plantedRatioChangeRel]
    if (!r?.ci95 || !p) return []
    const [lo, hi] = r.ci95
    const read = `the harness recovered ${r.median.toFixed(2)} µs [${lo.toFixed(2)}, ${hi.toFixed(2)}] per /me of a planted ${p.median.toFixed(2)} µs`
    if (p.median < lo || p.median > hi) return [`calibration: ${read}: outside its 95 % CI, so per-request costs of this size are read with a bias in this run`]
    if (lo > 0) return []
    const pct = share ? ` (${(share.median * 100).toFixed(1)} % of the plain server's CPU per /me)` : ''
    const halfWidth = Math.max(r.median - lo, hi - r.median)
    return [`calibration: ${read}${pct}: the CI holds 0 too, so this run cannot tell the plant from nothing, and per-request differences within about ±${halfWidth.toFixed(1)} µs are below its resolution here; plant more (--calibrate <µs>) or run longer (--repeats)`]
  },
}
