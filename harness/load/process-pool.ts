/**
 * Load from several generator processes at once (`--generator-processes n`): one autocannon thread
 * saturates its core before a fastify core is saturated, so n processes, each pinned to a generator
 * core of its own, drive one window together. A window's connections are dealt to the processes in
 * turn; their outcomes merge as shards' do: counts summed, latency from the union of their HDR
 * histograms, generator CPU summed over n threads, the load's span from the first start to the last end.
 */
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { mergedLatency } from '../results/merge-windows.ts'
import { spawnOwned, stopChild } from '../processes/children.ts'
import type { ConnectionPlan, LoadGenerator, LoadOutcome } from './types.ts'

const WORKER = fileURLToPath(new URL('./generator-worker.ts', import.meta.url))

/** Outcomes of one window from several processes as one. */
export function mergeOutcomes(outcomes: readonly LoadOutcome[]): LoadOutcome {
  const statusCodes: Record<string, number> = {}
  for (const o of outcomes) for (const [code, n] of Object.entries(o.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n
  const sum = (f: (o: LoadOutcome) => number) => outcomes.reduce((t, o) => t + f(o), 0)
  const start = Math.min(...outcomes.map((o) => o.startedAtEpochMs))
  const histograms = outcomes.map((o) => o.latencyHistogram)
  if (histograms.some((h) => h === null)) throw new Error('a generator process returned no latency histogram')
  const { latencyMs, histogram } = mergedLatency(histograms as string[])
  return {
    statusCodes, responses: sum((o) => o.responses), non2xx: sum((o) => o.non2xx), errors: sum((o) => o.errors), timeouts: sum((o) => o.timeouts),
    latencyMs, latencyHistogram: histogram, generatorResponseBytes: sum((o) => o.generatorResponseBytes),
    durationSec: Math.max(...outcomes.map((o) => (o.startedAtEpochMs - start) / 1000 + o.durationSec)),
    generatorCpuMicros: sum((o) => o.generatorCpuMicros), generatorThreads: sum((o) => o.generatorThreads), startedAtEpochMs: start,
  }
}

/** Connection k of a window goes to process k mod n. */
export function dealPlans(plans: readonly ConnectionPlan[], n: number): ConnectionPlan[][] {
  return Array.from({ length: n }, (_, k) => plans.filter((_, i) => i % n === k))
}

export class ProcessPoolGenerator implements LoadGenerator {
  readonly name = 'autocannon' as const
  private readonly workers: ChildProcess[]
  private readonly ready: Promise<void>
  private next = 1
  private readonly pending = new Map<number, (m: { outcome?: LoadOutcome; error?: string }) => void>()
  private readonly sent = new WeakMap<ConnectionPlan[], number>()
  /** A window's plans dealt once per plan set (the same arrays every window), so each process is sent its part once. */
  private readonly dealt = new WeakMap<ConnectionPlan[], ConnectionPlan[][]>()

  /** n processes; each inherits this process's CPU affinity (the bench pins itself to the generator cores). */
  constructor(n: number) {
    this.workers = Array.from({ length: n }, () => spawnOwned([process.execPath, '--import', 'tsx', WORKER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
    this.ready = Promise.all(this.workers.map((w) => new Promise<void>((resolve, reject) => {
      w.once('exit', (code) => reject(new Error(`a load-generator process exited with code ${code}`)))
      w.on('message', (m: { ready?: boolean; id?: number; outcome?: LoadOutcome; error?: string }) => {
        if (m.ready) return resolve()
        this.pending.get(m.id!)?.(m)
        this.pending.delete(m.id!)
      })
    }))).then(() => {})
  }

  async run(plans: ConnectionPlan[], durationSec: number, signal?: AbortSignal): Promise<LoadOutcome> {
    await this.ready
    if (signal?.aborted) throw signal.reason
    let parts = this.dealt.get(plans)
    if (!parts) this.dealt.set(plans, (parts = dealPlans(plans, this.workers.length)))
    const asked = parts.flatMap((part, k) => (part.length === 0 ? [] : [this.ask(k, part, durationSec)]))
    return mergeOutcomes(await Promise.all(asked))
  }

  private ask(k: number, part: ConnectionPlan[], durationSec: number): Promise<LoadOutcome> {
    const w = this.workers[k]!
    let plansId = this.sent.get(part)
    if (plansId === undefined) {
      this.sent.set(part, (plansId = this.next++))
      w.send({ type: 'plans', id: plansId, plans: part })
    }
    const id = this.next++
    return new Promise((resolve, reject) => {
      this.pending.set(id, (m) => (m.outcome ? resolve(m.outcome) : reject(new Error(m.error ?? 'no outcome'))))
      w.send({ type: 'run', id, plansId, durationSec })
    })
  }

  close(): void {
    for (const w of this.workers) void stopChild(w)
  }
}
