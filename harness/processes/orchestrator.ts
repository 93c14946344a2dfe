import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import type { JwtAlgorithm, StrategyName } from '../../servers/config.ts'
import { redactUrl } from '../../servers/redis.ts'
import { generateJwtKeyPair } from '../../servers/secrets.ts'
import { STRATEGIES } from '../../servers/strategies/index.ts'
import { startBalancer, type Balancer, type BalancerKind } from './balancer.ts'
import { killGroupNow, type ChildOwner } from './children.ts'
import { pinProcess, startInstance, type Instance } from './instances.ts'
import { PidFile, processStart } from './pidfile.ts'
import { redisWrapper, serverWrapper } from './placement.ts'
import { RedisUnavailableError, startPrivateRedis, type PrivateRedis } from './redis-server.ts'
import type { CpuPlacement } from '../results/results.ts'

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

/** Every core of this machine, as taskset takes them. */
const ALL_CORE_LIST: readonly number[] = Array.from({ length: cpus().length }, (_, k) => k)

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
  return JSON.stringify([spec.strategy, spec.profile, spec.alg, spec.claims ?? 'small', spec.instances, spec.instances > 1 ? spec.balancer : 'none', spec.sticky ?? false, spec.serverArgs ?? [], spec.nodeArgs ?? []])
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
  /** A command each server runs under (e.g. `clinic flame --`): its first process is the one the harness stops. */
  runUnder?: string[]
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

export interface RedisSource {
  source: 'private' | 'REDIS_URL' | 'none'
  url: string | null
  version: string | null
  note?: string
}

/**
 * Owns every process and temporary file of a run: a private redis-server (or REDIS_URL), the
 * server instances with one generated run secret and key pair, balancers. `teardown()` stops all of
 * them whatever happened; it is safe to call twice. Every child runs in its own process group under
 * a parent-death signal (harness/processes/children.ts), so none outlives the harness even when it is
 * SIGKILLed; with `pidFile`, each is also recorded on disk the moment it is spawned.
 */
export class Orchestrator {
  readonly secret = randomBytes(32).toString('hex')
  private readonly tmp = mkdtempSync(join(tmpdir(), 'authbench-run-'))
  private readonly stoppers: Array<() => Promise<void>> = []
  private redisState: Promise<RedisSource> | null = null
  private privateRedis: PrivateRedis | null = null
  private keyFiles = new Map<JwtAlgorithm, { priv: string; pub: string }>()
  private envCount = 0
  /** Part of every Redis key prefix of this run, so runs sharing one REDIS_URL never count each other's keys. */
  private readonly runTag = randomBytes(3).toString('hex')
  private tornDown = false
  /** Every process started so far (reported in results.json). */
  readonly processes: Array<{ role: 'server' | 'redis' | 'balancer'; pid: number; label: string }> = []
  /** Called whenever a process is started, so the caller can record it at once. */
  onProcess: (() => void) | null = null
  /** Every child still running, whatever it is (also those not ready yet). */
  private readonly children = new Set<ChildProcess>()
  private readonly pids: PidFile | null

  private record(role: 'server' | 'redis' | 'balancer', pid: number, label: string): void {
    this.processes.push({ role, pid, label })
    this.onProcess?.()
  }

  constructor(private readonly placement: CpuPlacement, private readonly redisUrlFromEnv: string | null, opts: { pidFile?: string } = {}) {
    this.pids = opts.pidFile ? new PidFile(opts.pidFile) : null
  }

  /** Tracks a child from the moment it is spawned; with a pid file, the child also inherits the run's ownership marker. */
  private owner(role: 'server' | 'redis' | 'balancer'): ChildOwner {
    return {
      onSpawn: (child) => {
        this.children.add(child)
        child.once('exit', () => this.children.delete(child))
        this.pids?.track(child, role)
      },
      markerFd: this.pids?.markerFd() ?? null,
    }
  }

  /** Starts the private redis-server on first use (or adopts REDIS_URL). Never throws: says why not. */
  redis(): Promise<RedisSource> {
    this.redisState ??= (async (): Promise<RedisSource> => {
      if (this.redisUrlFromEnv) {
        const probe = new Redis(this.redisUrlFromEnv, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
        probe.on('error', () => {})
        try {
          await probe.connect()
          const version = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? null
          return { source: 'REDIS_URL', url: this.redisUrlFromEnv, version }
        } catch (err) {
          return { source: 'none', url: null, version: null, note: `REDIS_URL ${redactUrl(this.redisUrlFromEnv)} does not answer (${(err as Error).message}): Redis-backed strategies skipped` }
        } finally {
          probe.disconnect()
        }
      }
      try {
        this.privateRedis = await startPrivateRedis({ wrapper: redisWrapper(this.placement), owner: this.owner('redis') })
        this.record('redis', this.privateRedis.pid, `redis-server ${this.privateRedis.url}`)
        return { source: 'private', url: this.privateRedis.url, version: this.privateRedis.version }
      } catch (err) {
        const why = err instanceof RedisUnavailableError ? err.message : `private redis-server failed: ${(err as Error).message}`
        return { source: 'none', url: null, version: null, note: `${why}; Redis-backed strategies (redis-session, jwt-denylist, refresh) skipped` }
      }
    })()
    return this.redisState
  }

  /** PEM files for an asymmetric algorithm, shared by every instance of the run. */
  private keyFilesFor(alg: JwtAlgorithm): { priv: string; pub: string } | null {
    if (alg === 'HS256') return null
    let files = this.keyFiles.get(alg)
    if (!files) {
      const { privateKey, publicKey } = generateJwtKeyPair(alg)
      files = { priv: join(this.tmp, `jwt-${alg}.key`), pub: join(this.tmp, `jwt-${alg}.pub`) }
      writeFileSync(files.priv, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
      writeFileSync(files.pub, publicKey.export({ type: 'spki', format: 'pem' }))
      this.keyFiles.set(alg, files)
    }
    return files
  }

  /** Starts the instances (and balancer) of one cell. Throws with the server's own message on failure. */
  async startEnv(spec: EnvSpec): Promise<CellEnv> {
    if (this.tornDown) throw new Error('the run is over')
    const def = STRATEGIES[spec.strategy]
    let redisUrl: string | null = null
    if (def.needsRedis) {
      const r = await this.redis()
      if (r.url === null) throw new RedisUnavailableError(r.note ?? 'no Redis')
      redisUrl = r.url
    }
    const keys = this.keyFilesFor(spec.alg)
    const env: Record<string, string | undefined> = {
      AUTHBENCH_SECRET: this.secret,
      JWT_SECRET: undefined,
      REDIS_URL: redisUrl ?? undefined,
      AUTHBENCH_REDIS_PREFIX: `ab${this.runTag}c${++this.envCount}:`,
      AUTHBENCH_JWT_PRIVATE_KEY_FILE: keys?.priv,
      AUTHBENCH_JWT_PUBLIC_KEY_FILE: keys?.pub,
    }
    const instances: Instance[] = []
    const stopAll = async () => { await Promise.all(instances.map((i) => i.stop())) }
    this.stoppers.push(stopAll)
    const started = await Promise.allSettled(Array.from({ length: spec.instances }, () => startInstance({
      strategy: spec.strategy, profile: spec.profile, alg: spec.alg, claims: spec.claims, env,
      args: ['--users', String(HARNESS_USER_COUNT), ...(spec.serverArgs ?? [])], nodeArgs: [...SERVER_NODE_ARGS, ...(spec.profile === 'floor' ? FLOOR_NODE_ARGS : []), ...(spec.nodeArgs ?? [])], fromSources: spec.fromSources ?? false,
      // started on every core (instances start side by side), pinned to the server cores once ready
      pinCpusWhenReady: this.placement.method === 'taskset' ? this.placement.serverCpus : [],
      ...(spec.runUnder ? { runUnder: spec.runUnder } : {}),
      owner: this.owner('server'),
    })))
    for (const s of started) {
      if (s.status === 'fulfilled') {
        instances.push(s.value)
        this.record('server', s.value.pid, `${spec.strategy} ${spec.profile} ${spec.alg} ${s.value.url}`)
      }
    }
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected')
    if (failed) {
      await stopAll()
      throw failed.reason
    }
    let balancer: Balancer | null = null
    try {
      balancer = await this.balancerFor(spec, instances)
    } catch (err) {
      await stopAll()
      throw err
    }
    let redisProbe: Redis | null = null
    if (redisUrl) {
      redisProbe = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
      redisProbe.on('error', () => {})
      this.stoppers.push(async () => { redisProbe!.disconnect() })
    }
    const logs: Record<string, string> = {}
    const label = `${spec.strategy}-${spec.profile}-${spec.alg}-x${spec.instances}-e${this.envCount}`
    return {
      redisPrefix: env.AUTHBENCH_REDIS_PREFIX!,
      stop: async () => {
        instances.forEach((inst, n) => { logs[`${label}-${n}`] = inst.log() })
        await Promise.all([stopAll(), balancer?.stop()])
        // the next cell starts on a Redis without this cell's keys (its memory and key counts are its own)
        if (redisProbe) await unlinkPrefix(redisProbe, env.AUTHBENCH_REDIS_PREFIX!).catch(() => {})
        redisProbe?.disconnect()
      },
      spreadOverAllCores: () => this.spreadOverAllCores(instances),
      spec,
      instances,
      urls: balancer ? [balancer.url] : instances.map((i) => i.url),
      redisProbe,
      balancer,
      logs: () => ({ ...Object.fromEntries(instances.map((i, n) => [`${label}-${n}`, i.log()])), ...logs }),
    }
  }

  /** Lets these instances run on every core until the returned function pins the living ones back to the server cores. */
  private async spreadOverAllCores(instances: readonly Instance[]): Promise<() => Promise<void>> {
    if (this.placement.method !== 'taskset') return async () => {}
    await Promise.all(instances.map((i) => pinProcess(i.pid, ALL_CORE_LIST)))
    return async () => { await Promise.all(instances.filter((i) => i.process.exitCode === null && i.process.signalCode === null).map((i) => pinProcess(i.pid, this.placement.serverCpus))) }
  }

  /** The balancer a spec puts in front of these instances (none for one instance or `balancer: 'none'`). */
  private async balancerFor(spec: EnvSpec, instances: readonly Instance[]): Promise<Balancer | null> {
    if (spec.instances <= 1 || spec.balancer === 'none') return null
    const balancer = await startBalancer(spec.balancer, instances.map((i) => i.port), {
      sticky: spec.sticky ?? false, dir: mkdtempSync(join(this.tmp, 'lb-')), wrapper: serverWrapper(this.placement),
      owner: this.owner('balancer'),
    })
    this.stoppers.push(() => balancer.stop())
    this.record('balancer', balancer.pid, `${balancer.kind} ${balancer.url}`)
    return balancer
  }

  /**
   * The first `spec.instances` servers of `base` (started without a balancer, `serverKey(spec)`
   * equal) behind `spec`'s own balancer, if it has one: --quick hands one set of servers to cells that
   * differ only in how many instances take load and what routes to them (one instance, two behind
   * round robin or sticky HAProxy, or direct). Stopping the result stops its balancer; and, when `owns`
   * (its cell is the servers' last user, e.g. one that kills an instance), the servers too.
   */
  async withBalancer(base: CellEnv, spec: EnvSpec, owns: boolean): Promise<CellEnv> {
    if (serverKey(base.spec) !== serverKey(spec) || base.balancer !== null || base.instances.length < spec.instances) {
      throw new Error(`withBalancer: the base env must run the same servers, at least ${spec.instances}, without a balancer`)
    }
    const instances = base.instances.slice(0, spec.instances)
    const balancer = await this.balancerFor(spec, instances)
    return {
      ...base,
      spec,
      instances,
      balancer,
      urls: balancer ? [balancer.url] : instances.map((i) => i.url),
      spreadOverAllCores: () => this.spreadOverAllCores(instances),
      // the servers' logs are written by whoever stops them: the run at its end, or this env if it owns them
      logs: owns ? base.logs : () => ({}),
      stop: async () => {
        await balancer?.stop()
        if (owns) await base.stop()
      },
    }
  }

  /** True when the run owns its Redis (the private redis-server), so it may restart it. */
  canRestartRedis(): boolean {
    return this.privateRedis !== null
  }

  /** Stops the private redis-server, waits, and starts it again empty on the same port. */
  async restartRedis(downMs: number): Promise<{ downAtMs: number; upAtMs: number }> {
    const old = this.privateRedis
    if (!old) throw new Error('the run does not own its Redis')
    await old.stop()
    const downAtMs = performance.now()
    await new Promise((r) => setTimeout(r, downMs))
    this.privateRedis = await startPrivateRedis({ wrapper: redisWrapper(this.placement), port: old.port, owner: this.owner('redis') })
    this.record('redis', this.privateRedis.pid, `redis-server ${this.privateRedis.url} (restarted)`)
    return { downAtMs, upAtMs: performance.now() }
  }

  /** Stops every process this run started and removes its temporary files. */
  async teardown(): Promise<void> {
    if (this.tornDown) return
    this.tornDown = true
    await Promise.allSettled(this.stoppers.splice(0).map((stop) => stop()))
    await this.privateRedis?.stop()
    this.killNow() // anything still alive now (none, normally); removes the pid file and temp files
  }

  /**
   * SIGKILL to the process group of every child still running, synchronously, waiting (≤ `waitMs`)
   * until each is dead: the forced way out (a second Ctrl-C), after which the caller exits at once,
   * and teardown's last step.
   */
  killNow(waitMs = 2000): void {
    const pids = [...this.children].map((c) => c.pid!)
    for (const child of this.children) killGroupNow(child)
    const deadline = Date.now() + waitMs
    const pause = new Int32Array(new SharedArrayBuffer(4))
    const living = () => pids.filter((pid) => processStart(pid) !== null)
    while (living().length > 0 && Date.now() < deadline) Atomics.wait(pause, 0, 0, 10)
    if (living().length === 0) this.pids?.remove() // else a later run stops what is left
    rmSync(this.tmp, { recursive: true, force: true })
  }
}
