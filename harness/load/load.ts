import autocannon from 'autocannon'
import * as hdr from 'hdr-histogram-js'
import type { LatencyMs, LoadGeneratorName } from '../results/results.ts'
import type { ConnectionPlan, LoadGenerator, LoadOutcome, LoadSpec } from './types.ts'
import { ProcessPoolGenerator } from './process-pool.ts'
import { WrkGenerator } from './wrk.ts'

export type { ConnectionPlan, LoadGenerator, LoadOutcome, LoadSpec } from './types.ts'

const autocannonGenerator: LoadGenerator = {
  name: 'autocannon',
  run: (plans, durationSec, signal) => runLoad({ connections: plans, durationSec, ...(signal ? { signal } : {}) }),
  close: () => {},
}

/** The named load generator (autocannon over `processes` processes); wrk throws a one-line error when it is not installed. */
export function openGenerator(name: LoadGeneratorName, processes = 1): LoadGenerator {
  if (name === 'wrk') return new WrkGenerator()
  return processes > 1 ? new ProcessPoolGenerator(processes) : autocannonGenerator
}

/** How long a timed load waits for the requests in flight at its end before dropping them. */
const IN_FLIGHT_GRACE_SEC = 1

/**
 * Drives closed-loop load with autocannon: one instance per URL, whose connections each get their
 * own plan (`setupClient`), so that each connection cycles through its own users' prebuilt requests
 * (no per-request setup cost, no lockstep of every connection on the same user). An instance per
 * connection costs generator time per connection and window: on the 2-core machine, 0.25 s windows
 * at 64 connections lasted 1–3 s that way. Latency is recorded from autocannon's
 * per-response hrtime into an HDR histogram in microseconds (autocannon's own histogram resolves
 * 1 ms only). Every response is counted by status code; nothing is dropped. A timed load ends by
 * letting every connection finish the request it has in flight, so that the servers have answered
 * every request they counted when the window's closing sample is taken. The load's duration is
 * timed here, from the first connection to the last response, not from the probes' samples around
 * it (which add their own IPC round trips: up to a third of a 0.25 s window).
 */
export async function runLoad(spec: LoadSpec): Promise<LoadOutcome> {
  const cpuAtStart = process.cpuUsage()
  const tally = new Tally()
  const clients: Client[] = []
  const instances = [...plansByUrl(spec.connections)].map(([url, plans]) => startInstance(url, plans, spec, tally, clients))
  const stopAll = () => instances.forEach((i) => i.inst.stop())
  spec.signal?.addEventListener('abort', stopAll, { once: true })
  const timers = endTimers(spec, clients, stopAll)
  let errors = 0
  let timeouts = 0
  try {
    for (const r of await Promise.all(instances.map((i) => i.done))) {
      errors += r.errors
      timeouts += r.timeouts
    }
  } finally {
    timers.forEach(clearTimeout)
    spec.signal?.removeEventListener('abort', stopAll)
  }
  const cpu = process.cpuUsage(cpuAtStart)
  return tally.outcome(errors, timeouts, cpu.user + cpu.system)
}

/** Every response of one load, as it arrives: counted by status code, latency into an HDR histogram in µs. */
class Tally {
  readonly hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 })
  readonly statusCodes: Record<string, number> = {}
  responses = 0
  bytes = 0
  readonly startedAtMs = performance.now()
  readonly startedAtEpochMs = performance.timeOrigin + this.startedAtMs
  lastResponseAtMs = this.startedAtMs

  record(statusCode: number, resBytes: number, responseTimeMs: number): void {
    this.lastResponseAtMs = performance.now()
    this.responses++
    this.bytes += resBytes
    this.statusCodes[statusCode] = (this.statusCodes[statusCode] ?? 0) + 1
    this.hist.recordValue(Math.max(1, Math.round(responseTimeMs * 1000)))
  }

  /** The outcome; frees the histogram. */
  outcome(errors: number, timeouts: number, generatorCpuMicros: number): LoadOutcome {
    const { hist, statusCodes, responses } = this
    const non2xx = Object.entries(statusCodes).reduce((n, [code, count]) => (code.startsWith('2') ? n : n + count), 0)
    const us = (p: number) => hist.getValueAtPercentile(p) / 1000
    const latencyMs: LatencyMs = {
      p50: us(50), p90: us(90), p99: us(99), p999: us(99.9), max: hist.maxValue / 1000, mean: hist.mean / 1000,
    }
    const latencyHistogram = hdr.encodeIntoCompressedBase64(hist)
    hist.destroy()
    return {
      latencyHistogram,
      startedAtEpochMs: this.startedAtEpochMs,
      statusCodes, responses, non2xx, errors, timeouts, latencyMs, generatorResponseBytes: this.bytes,
      durationSec: ((responses > 0 ? this.lastResponseAtMs : performance.now()) - this.startedAtMs) / 1000,
      generatorCpuMicros,
      generatorThreads: 1,
    }
  }
}

/** A connection as autocannon creates it: a timed load ends by letting each finish the request it has in flight. */
type Client = { reqsMade: number; responseMax: number }
type Request = ConnectionPlan['requests'][number]
const copy = (r: Request): Request => ({ ...r, headers: { ...r.headers } })

function plansByUrl(plans: ConnectionPlan[]): Map<string, ConnectionPlan[]> {
  const byUrl = new Map<string, ConnectionPlan[]>()
  for (const plan of plans.filter((p) => p.requests.length > 0)) {
    const same = byUrl.get(plan.url)
    if (same) same.push(plan)
    else byUrl.set(plan.url, [plan])
  }
  if (byUrl.size === 0) throw new Error('runLoad: no connection has a request to send')
  return byUrl
}

/** One autocannon instance for the connections to one URL, each connection on its own plan. */
function startInstance(url: string, plans: ConnectionPlan[], spec: LoadSpec, tally: Tally, clients: Client[]) {
  const rounds = spec.roundsPerConnection
  let next = 0
  const opts: autocannon.Options = {
    url,
    connections: plans.length,
    pipelining: 1,
    // autocannon only notices the end of a run on its sample tick: tick often, or every window lasts ≥ 1 s
    sampleInt: 20,
    timeout: spec.timeoutSec ?? 10,
    requests: [copy(plans[0]!.requests[0]!)], // a placeholder: every connection gets its own plan below
    // called for connection i = 0, 1, … as autocannon creates them
    setupClient: (client) => {
      const plan = plans[next++ % plans.length]!
      client.setRequests(plan.requests.map(copy))
      clients.push(client as unknown as Client)
      // each connection sends its own plan `rounds` times (autocannon would split `amount` evenly)
      if (rounds !== undefined) (client as unknown as Client).responseMax = plan.requests.length * rounds
    },
    // an amount, not a duration: autocannon's own stop drops the requests in flight, which the
    // servers have counted (and may not have finished) when the window's closing sample is taken
    amount: rounds !== undefined ? plans.reduce((n, p) => n + p.requests.length, 0) * rounds : Number.MAX_SAFE_INTEGER,
    duration: 3600,
  }
  const inst = autocannon(opts, () => {})
  const done = new Promise<autocannon.Result>((resolve, reject) => inst.once('done', resolve).once('error', reject))
  inst.on('response', (_client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) =>
    tally.record(statusCode, resBytes, responseTimeMs))
  return { inst, done }
}

/**
 * The end of a timed load: no client sends another request; each stops once its last one is
 * answered (a request to a dead or stuck server is given up after a grace period, as autocannon's
 * own stop would).
 */
function endTimers(spec: LoadSpec, clients: Client[], stopAll: () => void): NodeJS.Timeout[] {
  if (spec.roundsPerConnection !== undefined) return []
  const durationSec = spec.durationSec ?? 1
  return [
    setTimeout(() => { for (const c of clients) c.responseMax = Math.max(1, c.reqsMade) }, durationSec * 1000),
    setTimeout(stopAll, (durationSec + IN_FLIGHT_GRACE_SEC) * 1000),
  ]
}
