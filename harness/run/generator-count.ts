/**
 * `--generator-processes auto` (the default of `npm run bench`): as many autocannon processes, one
 * core each, as it takes for the servers to saturate before the load generator does. The number comes
 * from a short pilot measured on this machine: one server on its own core, the /health baseline (no auth
 * work: every strategy's /me costs the server at least as much) driven by one autocannon process, and
 * the CPU each side spends per request. A generator that spends r times the server's CPU per request
 * needs r cores for each server core it is to saturate.
 */
import { availableParallelism } from 'node:os'
import { BASELINE_PATH } from '../../servers/app.ts'
import { measureAround } from '../measure/probes.ts'
import { Orchestrator } from '../processes/orchestrator.ts'
import { pinSelf, planPlacement, serverCoresWith } from '../processes/placement.ts'
import type { CpuPlacement } from '../results/results.ts'
import { runLoad } from '../load/load.ts'
import type { BenchOptions } from './options.ts'
import { windowResponses } from '../results/windows.ts'

/**
 * Generator capacity asked for above the pilot's ratio r. A generator thread counts as saturated at
 * 90 % of its core (probes.ts), so n threads stay below that while the servers take a full core each
 * only if n ≥ r / 0.9 ≈ 1.11 r per server core; 1.15 leaves a little more.
 */
export const GENERATOR_HEADROOM = 1.15
/** Seconds of the pilot: unmeasured warm-up, then the measured window. */
export const PILOT_WARMUP_SEC = 1
export const PILOT_SEC = 2

/** What the pilot measured: CPU per /health request on each side of the connection. */
export interface PilotReading {
  generatorCpuMicrosPerRequest: number
  serverCpuMicrosPerRequest: number
  requests: number
  connections: number
}

export interface GeneratorChoice {
  processes: number
  /** One sentence for the placement note and the log: the figures and the rule behind the number. */
  note: string
}

/**
 * The rule: the fewest processes n with n ≥ r × demand × headroom (r = generator ÷ server CPU per
 * request, demand = the server cores the run keeps busy: its instances), as long as `demand` server
 * cores are left beside them; where the machine has too few, as many as fit, and the note says the
 * generator may still saturate first.
 */
export function generatorsFor(reading: PilotReading, demandCores: number, cores: number): GeneratorChoice {
  const r = reading.generatorCpuMicrosPerRequest / reading.serverCpuMicrosPerRequest
  const needed = Math.max(1, Math.ceil(r * demandCores * GENERATOR_HEADROOM))
  let fit = 1
  while (fit + 1 <= needed && serverCoresWith(fit + 1, cores) >= demandCores) fit++
  const measured = `the generator spends ${r.toFixed(2)}× the server's CPU per /health request (${reading.generatorCpuMicrosPerRequest.toFixed(1)} vs ${reading.serverCpuMicrosPerRequest.toFixed(1)} µs, ${reading.requests} requests at ${reading.connections} connections in a ${PILOT_SEC} s pilot)`
  const servers = `${demandCores} server core${demandCores === 1 ? '' : 's'}`
  return fit >= needed
    ? { processes: fit, note: `${fit} generator process${fit === 1 ? '' : 'es'} (automatic: ${measured}; ${fit} ≥ ${r.toFixed(2)} × ${servers} × ${GENERATOR_HEADROOM})` }
    : { processes: fit, note: `${fit} generator process${fit === 1 ? '' : 'es'} (automatic: ${measured}; ${needed} would saturate ${servers}, this machine's ${cores} cores leave room for ${fit}: the generator may still saturate first)` }
}

/**
 * Why the pilot is not run, or null where it is: the automatic choice needs pinned cores, autocannon,
 * servers of its own, and room for a second generator beside the servers.
 */
export function noPilotReason(o: { pin: boolean; generator: string; targets: readonly string[] }, demandCores: number, cores = availableParallelism()): string | null {
  if (!o.pin) return 'not pinned (--no-pin)'
  if (o.generator !== 'autocannon') return `--generator ${o.generator} runs its own threads`
  if (o.targets.length > 0) return 'target mode: the targets\' cores are not known here; give --generator-processes n'
  if (serverCoresWith(2, cores) < demandCores) return `${cores} cores leave no room for a second generator beside ${demandCores} server core${demandCores === 1 ? '' : 's'}`
  return null
}

/**
 * The pilot, on a one-generator placement: one `jwt` server (its /health is every strategy's), warmed
 * up, then `connections` connections of /health for PILOT_SEC. The caller is pinned to the generator core.
 */
export async function measurePilot(placement: CpuPlacement, connections: number, signal?: AbortSignal): Promise<PilotReading> {
  const orchestrator = new Orchestrator(placement, null)
  try {
    const env = await orchestrator.startEnv({ strategy: 'jwt', profile: 'tuned', alg: 'HS256', instances: 1, balancer: 'none' })
    const plans = Array.from({ length: connections }, () => ({ url: env.urls[0]!, requests: [{ method: 'GET' as const, path: BASELINE_PATH, headers: {} }] }))
    await runLoad({ connections: plans, durationSec: PILOT_WARMUP_SEC, signal })
    const w = await measureAround(env.instances, null, BASELINE_PATH, () => runLoad({ connections: plans, durationSec: PILOT_SEC, signal }))
    const responses = windowResponses(w)
    if (w.serverCpuMicrosPerRequest === null || responses === 0) throw new Error('the generator pilot got no answers from its server')
    const generatorCpuMicros = w.generatorCpuShare * w.loadDurationSec * 1e6
    return { generatorCpuMicrosPerRequest: generatorCpuMicros / responses, serverCpuMicrosPerRequest: w.serverCpuMicrosPerRequest, requests: responses, connections }
  } finally {
    await orchestrator.teardown()
  }
}

/**
 * The automatic choice for a run: one process where the pilot cannot help (no throughput cells, not
 * pinned, target mode, too few cores), else the pilot's rule. Pins the caller to the generator core.
 */
export async function chooseGeneratorProcesses(o: Readonly<BenchOptions>, signal?: AbortSignal): Promise<GeneratorChoice> {
  const demandCores = Math.max(o.instances, ...o.instanceSweep) // the server cores the throughput cells keep busy
  const why = o.scenarios.includes('throughput') ? noPilotReason(o, demandCores) : 'no throughput cells: one generator process'
  if (why !== null) return { processes: 1, note: `1 generator process (automatic: ${why})` }
  const provisional = planPlacement(true, 1)
  pinSelf(provisional)
  return generatorsFor(await measurePilot(provisional, Math.max(...o.connectionLevels), signal), demandCores, availableParallelism())
}
