/**
 * What a cell asks of the orchestrator (EnvSpec), what it gets (CellEnv), and the flags every server
 * the harness starts runs with.
 */
import type { Redis } from 'ioredis'
import type { JwtAlgorithm, StrategyName } from '../../servers/config.ts'
import type { Balancer, BalancerKind } from './balancer.ts'
import type { Instance } from './instances.ts'

/** Synthetic users every harness-started server knows (login scenarios need many distinct ones). */
export const HARNESS_USER_COUNT = 20_000

/**
 * Node flags of every server the harness starts, whatever its scenario, so that all servers are alike
 * (and --quick can hand one process to several scenarios). The V8 settings memory and hostile readings
 * need (expose-gc, no-flush-bytecode) every server sets itself once ready (servers/instrument.ts
 * applyRuntimeFlags): as node flags they cost each start ≈ 30 ms. One cannot wait: V8's memory
 * reducer is set up with the heap, and set at run time the flag changes nothing (measured). Left on, a
 * server idle between its cell's repeats got a memory-reducing mark-compact after ≈ 1.5–2 min that
 * also drops compiled code and type feedback, and its next window cost 2–2.5× per /me request while
 * V8 recompiled (see applyRuntimeFlags). A server under steady load never meets that GC.
 */
export const SERVER_NODE_ARGS: readonly string[] = ['--no-memory-reducer']

/**
 * V8 flags of `floor` servers only: a 64 MB young generation (V8's default here is 16 MB). A request
 * that waits on I/O (a Redis GET) keeps its objects alive across young-generation collections, which
 * then copy and promote them: redis-session floor spent 9.1 µs of GC per /me over /hc (profile), and
 * its /me ÷ /hc fell from 2.20 to 1.85 with this flag (six alternating pairs each, one run). A runtime
 * setting, not a mechanism: part of what `tuned` (V8's defaults) leaves on the table.
 */
export const FLOOR_NODE_ARGS: readonly string[] = ['--max-semi-space-size=64']

/** Two specs with the same key can share one set of processes. */
export function envKey(spec: EnvSpec): string {
  return JSON.stringify([spec.strategy, spec.profile, spec.alg, spec.claims ?? 'small', spec.instances, spec.instances > 1 ? spec.balancer : 'none', spec.sticky ?? false, spec.serverArgs ?? [], spec.nodeArgs ?? [], spec.serverBundle ?? null])
}

/**
 * Two specs with the same key can share server instances, each taking as many as it needs (the first
 * ones) with a balancer of its own in front (`Orchestrator.withBalancer`): the servers are alike, only
 * how many take load and what routes to them differs.
 */
export function serverKey(spec: EnvSpec): string {
  return envKey({ ...spec, instances: 1, balancer: 'none', sticky: false })
}

export interface EnvSpec {
  strategy: StrategyName
  profile: string
  alg: JwtAlgorithm
  claims?: string
  instances: number
  /** Put a load balancer in front when instances > 1. */
  balancer: BalancerKind | 'none'
  sticky?: boolean
  /** Extra server CLI arguments. */
  serverArgs?: string[]
  nodeArgs?: string[]
  /** Run the TypeScript sources through tsx instead of the bundle (a profile then names every file). */
  fromSources?: boolean
  /** Start this bundle instead of this checkout's (`--baseline`: another version's servers, harness/processes/baseline.ts). */
  serverBundle?: string
  /** A command each server runs under (e.g. `clinic flame --`): its first process is the one the harness stops. */
  runUnder?: string[]
  /** Each instance pinned to a server core of its own (the scale-out sweep), not all of them to the server cores together. */
  corePerInstance?: boolean
}

/** What a scenario drives: N instances of one strategy, and the URL(s) to send load to. */
export interface CellEnv {
  spec: EnvSpec
  instances: Instance[]
  /** Load targets: the balancer's URL, or every instance's (multi-URL round robin). */
  urls: string[]
  /** A client of the run's Redis for INFO readings (no key prefix), when the strategy uses Redis. */
  redisProbe: Redis | null
  /** The prefix of every Redis key this env's servers write. */
  redisPrefix: string
  balancer: Balancer | null
  /** Log lines of every process of this env, for the results folder. */
  logs(): Record<string, string>
  /** Stops this env's processes now (teardown would otherwise do it at the end). */
  stop(): Promise<void>
  /**
   * Lets this env's servers run on every core until the returned function pins them back to the
   * servers' cores: for scenarios that read state, not time (memory), where one core would only queue.
   */
  spreadOverAllCores(): Promise<() => Promise<void>>
}

/** Deletes every key under `prefix` (SCAN + UNLINK: never blocks Redis as KEYS or DEL of a huge set would). */
export async function unlinkPrefix(redis: Redis, prefix: string): Promise<number> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
  let cursor = '0'
  let n = 0
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    if (keys.length) n += await redis.unlink(...keys)
  } while (cursor !== '0')
  return n
}
