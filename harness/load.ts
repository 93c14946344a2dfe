import autocannon from 'autocannon'
import * as hdr from 'hdr-histogram-js'
import type { LatencyMs } from './results.ts'

/** One connection's plan: where it goes and the requests it cycles through (its own users). */
export interface ConnectionPlan {
  url: string
  requests: Array<{ method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: string }>
}

export interface LoadSpec {
  connections: ConnectionPlan[]
  /** Stop after this long… */
  durationSec?: number
  /** …or after each connection has sent its requests this many times (e.g. 1 = each user once). */
  roundsPerConnection?: number
  /** Per-request timeout. */
  timeoutSec?: number
  signal?: AbortSignal
}

export interface LoadOutcome {
  statusCodes: Record<string, number>
  responses: number
  non2xx: number
  errors: number
  timeouts: number
  latencyMs: LatencyMs
  /** Response bytes as autocannon counts them (headers + body), for cross-checking. */
  generatorResponseBytes: number
}

/**
 * Drives closed-loop load with autocannon: one autocannon instance per connection so that each
 * connection cycles through its own users' prebuilt requests (no per-request setup cost, no
 * lockstep of every connection on the same user). Latency is recorded from autocannon's per-response
 * hrtime into an HDR histogram in microseconds (autocannon's own histogram resolves 1 ms only).
 * Every response is counted by status code; nothing is dropped.
 */
export async function runLoad(spec: LoadSpec): Promise<LoadOutcome> {
  const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 })
  const statusCodes: Record<string, number> = {}
  let responses = 0
  let errors = 0
  let timeouts = 0
  let bytes = 0
  const instances = spec.connections.map((plan) => {
    const opts: autocannon.Options = {
      url: plan.url,
      connections: 1,
      pipelining: 1,
      // autocannon only notices the end of a run on its sample tick: tick often, or every window lasts ≥ 1 s
      sampleInt: 50,
      timeout: spec.timeoutSec ?? 10,
      requests: plan.requests.map((r) => ({ ...r, headers: { ...r.headers } })),
      ...(spec.roundsPerConnection !== undefined
        ? { amount: plan.requests.length * spec.roundsPerConnection, duration: 3600 }
        : { duration: spec.durationSec ?? 1 }),
    }
    const inst = autocannon(opts, () => {})
    const done = new Promise<autocannon.Result>((resolve, reject) => inst.once('done', resolve).once('error', reject))
    inst.on('response', (_client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => {
      responses++
      bytes += resBytes
      statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1
      hist.recordValue(Math.max(1, Math.round(responseTimeMs * 1000)))
    })
    return { inst, done }
  })
  const onAbort = () => instances.forEach((i) => i.inst.stop())
  spec.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const results = await Promise.all(instances.map((i) => i.done))
    for (const r of results) {
      errors += r.errors
      timeouts += r.timeouts
    }
  } finally {
    spec.signal?.removeEventListener('abort', onAbort)
  }
  const non2xx = Object.entries(statusCodes).reduce((n, [code, count]) => (code.startsWith('2') ? n : n + count), 0)
  const us = (p: number) => hist.getValueAtPercentile(p) / 1000
  const latencyMs: LatencyMs = {
    p50: us(50), p90: us(90), p99: us(99), p999: us(99.9), max: hist.maxValue / 1000, mean: hist.mean / 1000,
  }
  hist.destroy()
  return { statusCodes, responses, non2xx, errors, timeouts, latencyMs, generatorResponseBytes: bytes }
}
