/**
 * An A/B run (`--baseline`) read as two runs: its `ab` cells split into the baseline's side and this
 * checkout's, each a cell with the CPU ratio and CPU per /me of its repeats, so that compare, compare.md
 * and compare.html show it like a comparison of two runs — tested block by block, as ABBA sets, since
 * both sides were measured in the same repeats, their windows alternating (compareRuns' `paired`).
 */
import type { Cell, MetricsRepeat, RunResults } from '../harness/results/results.ts'
import type { MetricDecl, Scenario } from '../harness/run/scenario.ts'
import { metricsRepeat, summarizeMetrics } from '../scenarios/common.ts'
import { ab } from '../scenarios/ab.ts'
import { blocksOf, logMeChange, logRatioChange, perBlock } from '../scenarios/paired.ts'
import type { PairedBlocks } from './compare.ts'
import { isMeasured } from './model.ts'

const VIEW_METRICS = [
  { name: 'cpuRatio', label: 'CPU /me ÷ /health', unit: 'ratio', meaning: 'server CPU per /me over the same per /health, median over the blocks of a repeat', better: 'lower', headline: true },
  { name: 'meCpuMicrosPerRequest', label: 'CPU per /me', unit: 'µs/req', meaning: 'server CPU per /me, median over the blocks of a repeat', better: 'lower', headline: true },
] as const satisfies readonly MetricDecl[]

/** How the `ab` cells read as one side of a comparison: the ratio and the CPU per /me, side by side per cell. */
export const AB_VIEW: Scenario = {
  ...ab,
  metrics: VIEW_METRICS,
  charts: [
    { title: 'CPU /me ÷ /health per version (95 % CI)', series: [{ metric: 'cpuRatio' }], rule: { y: 1, label: '/health = 1' } },
    { title: 'CPU per /me per version (95 % CI)', series: [{ metric: 'meCpuMicrosPerRequest' }] },
  ],
  summarize: summarizeMetrics,
}

/** The scenarios a comparison of an A/B run's sides is read with. */
export const abScenarios = (scenarios: readonly Scenario[]): Scenario[] => scenarios.map((s) => (s.name === 'ab' ? AB_VIEW : s))

/** One side of an `ab` cell. */
function side(cell: Cell, which: 'Baseline' | 'Candidate'): Cell {
  if (!isMeasured(cell)) return cell
  const repeats = (cell.repeats as MetricsRepeat[]).map((r) => metricsRepeat(r.index, r.startedAt, { cpuRatio: r.metrics[`cpuRatio${which}`] ?? null, meCpuMicrosPerRequest: r.metrics[`meCpuMicros${which}`] ?? null }))
  return { ...cell, repeats, summary: summarizeMetrics(repeats) } as Cell
}

/** Each view metric's per-block log ratio, this checkout's over the baseline's. */
const BLOCK_FIGURES: Record<string, typeof logMeChange> = { cpuRatio: logRatioChange, meCpuMicrosPerRequest: logMeChange }

/** The per-block figures of an A/B run's cells, grouped by repeat: what compare tests. */
const pairedBlocks = (cells: readonly Cell[]): PairedBlocks => (cellId, metric) => {
  const cell = cells.find((c) => c.id === cellId)
  const f = BLOCK_FIGURES[metric]
  if (!cell || !f || !isMeasured(cell)) return null
  return (cell.repeats as MetricsRepeat[]).map((r) => perBlock(...blocksOf(r), f))
}

/** The run's two sides (its `ab` cells only) and their per-block figures, or null where it has none. */
export function abSides(results: RunResults): { baseline: RunResults; candidate: RunResults; label: string; blocks: PairedBlocks } | null {
  const cells = results.cells.filter((c) => c.scenario === 'ab')
  if (!cells.some(isMeasured)) return null
  const given = typeof results.options.baseline === 'string' ? results.options.baseline : 'baseline'
  const resolved = results.options.baselineCommit
  const commit = typeof resolved === 'string' && /^[0-9a-f]{40}$/.test(resolved) ? ` ${resolved.slice(0, 7)}` : '' // a folder resolves to its own path
  return {
    baseline: { ...results, cells: cells.map((c) => side(c, 'Baseline')) },
    candidate: { ...results, cells: cells.map((c) => side(c, 'Candidate')) },
    label: `${given}${commit}`,
    blocks: pairedBlocks(cells),
  }
}
