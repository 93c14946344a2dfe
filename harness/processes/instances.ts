import type { ChildProcess } from 'node:child_process'
import { cpus } from 'node:os'
import { createInterface } from 'node:readline'
import type { ProcessStats } from '../../servers/instrument.ts'
import { runCommand, spawnOwned, stopChild, type ChildOwner } from './children.ts'
import { SERVER_ENTRY, serverBundle } from './server-bundle.ts'

export { SERVER_ENTRY } from './server-bundle.ts'

export interface InstanceSpec {
  strategy: string
  profile?: string
  alg?: string
  claims?: string
  /** Extra server CLI arguments. */
  args?: string[]
  /** Environment: AUTHBENCH_SECRET, REDIS_URL, key files… merged over process.env. */
  env?: Record<string, string | undefined>
  /** Prefix the command (e.g. ['taskset', '-c', '1']) for CPU placement. */
  wrapper?: string[]
  /**
   * Cores to pin the server to (all its threads, with taskset) once it is ready. Starting unpinned lets
   * several instances start side by side on every core; they are on their own cores before any load.
   */
  pinCpusWhenReady?: number[]
  /** Node flags for the server process (e.g. --max-semi-space-size=64). */
  nodeArgs?: string[]
  /** Run servers/main.ts through tsx instead of the bundle: slower to start, but a CPU profile names every source file and package. */
  fromSources?: boolean
  /** Another bundle to start instead of this checkout's (a baseline version's servers). */
  bundle?: string
  /** A command the server runs under (e.g. `clinic flame --`), after the CPU placement prefix. */
  runUnder?: string[]
  readyTimeoutMs?: number
  /** Told about the process as soon as it is spawned. */
  owner?: ChildOwner
}

export interface Instance {
  port: number
  /** null: a target the harness did not start (target mode, harness/processes/targets.ts). */
  pid: number | null
  url: string
  process: ChildProcess | null
  /** Everything the server wrote to stderr so far. */
  log(): string
  /**
   * Asks the server for its own CPU, memory and byte counters over IPC; `gc` forces a collection
   * first, `speed` times the host-speed probe in the server first (servers/speed-loop.ts).
   */
  stats(opts?: { gc?: boolean; speed?: boolean }): Promise<ProcessStats>
  stop(): Promise<void>
}

/** An instance this harness started: its process and pid are known. */
export interface OwnedInstance extends Instance {
  pid: number
  process: ChildProcess
}

export const isOwned = (i: Instance): i is OwnedInstance => i.process !== null && i.pid !== null

/** Pins every thread of a process to these cores (taskset -a -p); rejects with taskset's reason. */
export async function pinProcess(pid: number, cores: readonly number[]): Promise<void> {
  const r = await runCommand(['taskset', '-a', '-p', '-c', cores.join(','), String(pid)])
  if (r.status !== 0) throw new Error(`taskset could not pin process ${pid} to cores ${cores.join(',')}: ${r.stderr.trim()}`)
}

/** Every core of this machine, asked once (os.cpus() reads /proc each time). */
const ALL_CORES = `0-${cpus().length - 1}`

/** The server's command line: node, its flags, the bundle (or the sources through tsx), the server's own options. */
function serverCommand(spec: InstanceSpec): string[] {
  const args = ['--strategy', spec.strategy, '--port', '0']
  if (spec.profile) args.push('--profile', spec.profile)
  if (spec.alg) args.push('--alg', spec.alg)
  if (spec.claims) args.push('--claims', spec.claims)
  args.push(...(spec.args ?? []))
  const entry = spec.fromSources ? ['--import', 'tsx', SERVER_ENTRY] : [spec.bundle ?? serverBundle()]
  return [process.execPath, ...(spec.nodeArgs ?? []), ...entry, ...args]
}

/** Asks the server for its stats over IPC (servers/instrument.ts answers). */
function statsChannel(child: ChildProcess): Instance['stats'] {
  let nextId = 1
  const pending = new Map<number, (s: ProcessStats) => void>()
  child.on('message', (m: { type?: string; id?: number; stats?: ProcessStats }) => {
    if (m.type === 'stats' && m.id !== undefined) pending.get(m.id)?.(m.stats!)
    pending.delete(m.id!)
  })
  return (o = {}) => new Promise((res, rej) => {
    if (!child.connected) return rej(new Error('server process is gone'))
    const id = nextId++
    pending.set(id, res)
    child.send({ type: 'stats', id, gc: o.gc === true, speed: o.speed === true })
  })
}

/** Starts one server process on a free port and resolves when it prints its ready line. */
export function startInstance(spec: InstanceSpec): Promise<OwnedInstance> {
  const child = spawnOwned(serverCommand(spec), {
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // a child inherits the harness's own pinning (the generator's core): start it on every core instead
    wrapper: [...(spec.wrapper ?? (spec.pinCpusWhenReady?.length ? ['taskset', '-c', ALL_CORES] : [])), ...(spec.runUnder ?? [])],
    ...(spec.owner ? { owner: spec.owner } : {}),
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  const stats = statsChannel(child)
  const readyTimeoutMs = spec.readyTimeoutMs ?? 20000

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stopChild(child)
      reject(new Error(`${spec.strategy} did not become ready in ${readyTimeoutMs} ms: ${stderr.trim()}`))
    }, readyTimeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(stderr.trim().split('\n').filter(Boolean).pop() ?? `${spec.strategy} exited with code ${code} before it was ready`))
    })
    createInterface({ input: child.stdout! }).on('line', async (line) => {
      let msg: { event?: string; port?: number; pid?: number }
      try { msg = JSON.parse(line) } catch { return }
      if (msg.event !== 'ready' || typeof msg.port !== 'number') return
      clearTimeout(timer)
      child.removeAllListeners('exit')
      const pid = msg.pid ?? child.pid!
      if (spec.pinCpusWhenReady?.length) {
        try {
          await pinProcess(pid, spec.pinCpusWhenReady)
        } catch (err) {
          void stopChild(child)
          return reject(new Error(`${spec.strategy}: ${(err as Error).message}`))
        }
      }
      const port = msg.port
      resolve({ port, pid, url: `http://127.0.0.1:${port}`, process: child, log: () => stderr, stats, stop: () => stopChild(child) })
    })
  })
}
