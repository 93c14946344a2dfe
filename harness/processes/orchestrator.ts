import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { SERVER_DEFAULTS, type JwtAlgorithm } from '../../servers/config.ts'
import { generateJwtKeyPair } from '../../servers/secrets.ts'
import { STRATEGIES } from '../../servers/strategies/index.ts'
import { startBalancer, type Balancer } from './balancer.ts'
import { killGroupNow, type ChildOwner } from './children.ts'
import { isOwned, pinProcess, startInstance, type Instance, type OwnedInstance } from './instances.ts'
import { PidFile, processStart } from './pidfile.ts'
import { redisWrapper, serverWrapper } from './placement.ts'
import { adoptRedisUrl, RedisUnavailableError, startPrivateRedis, type PrivateRedis, type RedisSource } from './redis-server.ts'
import { FLOOR_NODE_ARGS, HARNESS_USER_COUNT, SERVER_NODE_ARGS, serverKey, unlinkPrefix, type CellEnv, type EnvSpec } from './env-spec.ts'
import type { CpuPlacement } from '../results/results.ts'
import { targetEnv, type TargetSet } from './targets.ts'

export type { CellEnv, EnvSpec } from './env-spec.ts'

/** Every core of this machine, as taskset takes them. */
const ALL_CORE_LIST: readonly number[] = Array.from({ length: cpus().length }, (_, k) => k)

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

  /** Target mode: servers the harness did not start (harness/processes/targets.ts). */
  private readonly targets: TargetSet | null

  constructor(private readonly placement: CpuPlacement, private readonly redisUrlFromEnv: string | null, opts: { pidFile?: string; targets?: TargetSet } = {}) {
    this.pids = opts.pidFile ? new PidFile(opts.pidFile) : null
    this.targets = opts.targets ?? null
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
    this.redisState ??= this.redisUrlFromEnv ? adoptRedisUrl(this.redisUrlFromEnv)
      : this.targets ? Promise.resolve({ source: 'none', url: null, version: null, note: 'target mode without REDIS_URL: the targets\' Redis is not read (Redis commands, CPU and keys not measured)' })
        : this.startRedis()
    return this.redisState
  }

  private async startRedis(): Promise<RedisSource> {
    try {
      this.privateRedis = await startPrivateRedis({ wrapper: redisWrapper(this.placement), owner: this.owner('redis') })
      this.record('redis', this.privateRedis.pid, `redis-server ${this.privateRedis.url}`)
      return { source: 'private', url: this.privateRedis.url, version: this.privateRedis.version }
    } catch (err) {
      const why = err instanceof RedisUnavailableError ? err.message : `private redis-server failed: ${(err as Error).message}`
      return { source: 'none', url: null, version: null, note: `${why}; Redis-backed strategies (redis-session, jwt-denylist, refresh) skipped` }
    }
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
    if (this.targets) return this.targetEnv(spec)
    const redisUrl = STRATEGIES[spec.strategy].needsRedis ? await this.redisUrlOrThrow() : null
    const env = this.serverEnv(spec, redisUrl)
    const instances = await this.startInstances(spec, env)
    const stopAll = async () => { await Promise.all(instances.map((i) => i.stop())) }
    this.stoppers.push(stopAll)
    let balancer: Balancer | null = null
    try {
      balancer = await this.balancerFor(spec, instances)
    } catch (err) {
      await stopAll()
      throw err
    }
    const redisProbe = redisUrl ? this.redisProbe(redisUrl) : null
    const redisPrefix = env.AUTHBENCH_REDIS_PREFIX!
    const logs: Record<string, string> = {}
    const label = `${spec.strategy}-${spec.profile}-${spec.alg}-x${spec.instances}-e${this.envCount}`
    return {
      redisPrefix,
      stop: async () => {
        instances.forEach((inst, n) => { logs[`${label}-${n}`] = inst.log() })
        await Promise.all([stopAll(), balancer?.stop()])
        // the next cell starts on a Redis without this cell's keys (its memory and key counts are its own)
        if (redisProbe) await unlinkPrefix(redisProbe, redisPrefix).catch(() => {})
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

  /** Target mode: the targets as the cell's env, the targets' Redis read through REDIS_URL where given (their key prefix: AUTHBENCH_REDIS_PREFIX, default the servers' `ab:`). */
  private async targetEnv(spec: EnvSpec): Promise<CellEnv> {
    const redis = STRATEGIES[spec.strategy].needsRedis ? (await this.redis()).url : null
    return targetEnv(spec, this.targets!, redis ? this.redisProbe(redis) : null, process.env.AUTHBENCH_REDIS_PREFIX || SERVER_DEFAULTS.redisKeyPrefix)
  }

  private async redisUrlOrThrow(): Promise<string> {
    const r = await this.redis()
    if (r.url === null) throw new RedisUnavailableError(r.note ?? 'no Redis')
    return r.url
  }

  /** The environment of a cell's servers: the run's secret and keys, its Redis, a key prefix of its own. */
  private serverEnv(spec: EnvSpec, redisUrl: string | null): Record<string, string | undefined> {
    const keys = this.keyFilesFor(spec.alg)
    return {
      AUTHBENCH_SECRET: this.secret,
      JWT_SECRET: undefined,
      REDIS_URL: redisUrl ?? undefined,
      AUTHBENCH_REDIS_PREFIX: `ab${this.runTag}c${++this.envCount}:`,
      AUTHBENCH_JWT_PRIVATE_KEY_FILE: keys?.priv,
      AUTHBENCH_JWT_PUBLIC_KEY_FILE: keys?.pub,
    }
  }

  /** A cell's instances, started side by side; when one fails, the others are stopped and its error thrown. */
  private async startInstances(spec: EnvSpec, env: Record<string, string | undefined>): Promise<OwnedInstance[]> {
    const cpus = this.placement.serverCpus
    const pinFor = (k: number) => (this.placement.method !== 'taskset' ? [] : spec.corePerInstance ? [cpus[k % cpus.length]!] : cpus)
    const started = await Promise.allSettled(Array.from({ length: spec.instances }, (_, k) => startInstance({
      strategy: spec.strategy, profile: spec.profile, alg: spec.alg, claims: spec.claims, env,
      args: ['--users', String(HARNESS_USER_COUNT), ...(spec.serverArgs ?? [])],
      nodeArgs: [...SERVER_NODE_ARGS, ...(spec.profile === 'floor' ? FLOOR_NODE_ARGS : []), ...(spec.nodeArgs ?? [])],
      fromSources: spec.fromSources ?? false, ...(spec.serverBundle ? { bundle: spec.serverBundle } : {}),
      // started on every core (instances start side by side), pinned to the server cores once ready
      pinCpusWhenReady: pinFor(k),
      ...(spec.runUnder ? { runUnder: spec.runUnder } : {}),
      owner: this.owner('server'),
    })))
    const instances: OwnedInstance[] = []
    for (const s of started) {
      if (s.status !== 'fulfilled') continue
      instances.push(s.value)
      this.record('server', s.value.pid, `${spec.strategy} ${spec.profile} ${spec.alg} ${s.value.url}`)
    }
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected')
    if (failed) {
      await Promise.all(instances.map((i) => i.stop()))
      throw failed.reason
    }
    return instances
  }

  /** A client of the run's Redis for INFO readings and key counts, disconnected at teardown. */
  private redisProbe(url: string): Redis {
    const probe = new Redis(url, { maxRetriesPerRequest: 1 })
    probe.on('error', () => {})
    this.stoppers.push(async () => { probe.disconnect() })
    return probe
  }

  /** Lets these instances run on every core until the returned function pins the living ones back to the server cores. */
  private async spreadOverAllCores(all: readonly Instance[]): Promise<() => Promise<void>> {
    const instances = all.filter(isOwned)
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
