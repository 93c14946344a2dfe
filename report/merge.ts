/**
 * `npm run merge`: the run folders of n load-generator shards (`--shard i/n`, one run id) as one run.
 * Throughput windows merge exactly (harness/results/merge-windows.ts); each level's connections are
 * the shards' summed; the servers' own readings are the coordinator's (shard 0); the headline level
 * and every summary are computed again from the merged repeats, as a run computes its own.
 */
import { MergeError, mergePairs } from '../harness/results/merge-windows.ts'
import type { Cell, RunResults, ThroughputLevel, ThroughputRepeat } from '../harness/results/results.ts'
import { warningsFor } from '../harness/run/cell-warnings.ts'
import type { Scenario } from '../harness/run/scenario.ts'
import { chooseHeadlineLevel, levelLoad } from '../scenarios/throughput-summary.ts'

export { MergeError } from '../harness/results/merge-windows.ts'

/** The shards in index order, checked: one run id, every index once, the same cells. */
function inOrder(runs: readonly RunResults[]): RunResults[] {
  const shard = (r: RunResults) => (r.options.shard ?? null) as { index: number; count: number } | null
  const n = shard(runs[0]!)?.count
  if (runs.some((r) => shard(r) === null)) throw new MergeError('a run folder given is not a shard (run with --shard i/n)')
  if (runs.some((r) => shard(r)!.count !== n || r.options.runId !== runs[0]!.options.runId)) throw new MergeError('the runs are shards of different runs (their --shard n or --run-id differ)')
  const sorted = [...runs].sort((a, b) => shard(a)!.index - shard(b)!.index)
  if (sorted.length !== n || sorted.some((r, k) => shard(r)!.index !== k)) throw new MergeError(`a run of ${n} shards needs shards 0 to ${n! - 1}, once each (got ${runs.map((r) => shard(r)!.index).join(', ')})`)
  const ids = (r: RunResults) => r.cells.map((c) => c.id).join(' ')
  if (sorted.some((r) => ids(r) !== ids(sorted[0]!))) throw new MergeError('the shards planned different cells')
  return sorted
}

/** One throughput repeat of every shard as one (levels by position: every shard ran the same windows). */
function mergeRepeat(shards: readonly ThroughputRepeat[]): ThroughputRepeat {
  const [coordinator] = shards
  const levels: ThroughputLevel[] = coordinator!.levels.map((level, k) => {
    const each = shards.map((r) => r.levels[k])
    if (each.some((l) => l === undefined || l.pairs.length !== level.pairs.length)) throw new MergeError(`repeat ${coordinator!.index}: the shards measured different levels or pairs`)
    return { connections: each.reduce((n, l) => n + l!.connections, 0), pairs: level.pairs.map((_, p) => mergePairs(each.map((l) => l!.pairs[p]!))) }
  })
  const headline = chooseHeadlineLevel(levels.map((l) => levelLoad(l.connections, [l.pairs])))!
  return {
    ...coordinator!,
    loginCount: shards.reduce((n, r) => n + r.loginCount, 0),
    levels,
    headlineConnections: headline.connections,
    pairs: levels.find((l) => l.connections === headline.connections)!.pairs,
  }
}

function mergeCell(cells: readonly Cell[], scenario: Scenario | undefined): Cell {
  const [first] = cells
  if (first!.state !== 'completed' && first!.state !== 'partial') return first!
  if (!scenario?.shardable) return first!
  const withRepeats = cells.filter((c): c is Extract<Cell, { repeats: unknown }> => 'repeats' in c)
  const count = Math.min(...withRepeats.map((c) => c.repeats.length))
  if (withRepeats.length !== cells.length || count === 0) return { ...first!, state: 'failed', error: 'not every shard measured this cell' } as Cell
  const repeats = Array.from({ length: count }, (_, r) => mergeRepeat(withRepeats.map((c) => c.repeats[r] as ThroughputRepeat)))
  const complete = withRepeats.every((c) => c.state === 'completed' && c.repeats.length === count)
  const summary = scenario.summarize(repeats)
  const base = { ...first!, repeats, summary, warnings: warningsFor(repeats, scenario) }
  return complete ? { ...base, state: 'completed' } : { ...base, state: 'partial', reason: `${count} repeats in every shard` }
}

/** The shards' runs as one run, read like any other. */
export function mergeShardRuns(runs: readonly RunResults[], scenarios: readonly Scenario[], from: readonly string[]): RunResults {
  const shards = inOrder(runs)
  const [coordinator] = shards
  const byName = new Map(scenarios.map((s) => [s.name, s]))
  const cells = coordinator!.cells.map((c, k) => mergeCell(shards.map((r) => r.cells[k]!), byName.get(c.scenario)))
  const skews = cells.flatMap((c) => ('repeats' in c ? c.repeats : [])).flatMap((r) => (r.kind === 'throughput' ? r.levels.flatMap((l) => l.pairs.flatMap((p) => [p.me, p.health])) : []))
    .map((w) => w.shardStartSkewMs ?? 0)
  const maxSkewMs = skews.length ? Math.max(...skews) : 0
  const status = shards.every((r) => r.status === 'complete') ? 'complete' : shards.some((r) => r.status === 'failed') ? 'failed' : 'interrupted'
  return {
    ...coordinator!,
    status,
    options: { ...coordinator!.options, shard: null },
    warnings: [...new Set([...shards.flatMap((r) => r.warnings), `merged from ${shards.length} shards (${from.join(', ')}): the last shard started a window up to ${maxSkewMs.toFixed(1)} ms after the first`])],
    merged: { shards: shards.length, from: [...from], maxWindowStartSkewMs: maxSkewMs },
    cells,
  }
}
