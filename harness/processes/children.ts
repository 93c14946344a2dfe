import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process'
import { rmSync } from 'node:fs'

let deathPrefix: string[] | null = null

/**
 * Command prefix that makes the kernel send SIGTERM to a child the moment this process dies, even
 * by SIGKILL: util-linux `setpriv --pdeathsig` (node cannot call prctl(PR_SET_PDEATHSIG) itself).
 * Empty where setpriv is missing (macOS): there the next run stops the leftovers (harness/processes/pidfile.ts).
 * The kernel ties the signal to the *thread* that spawned the child: spawn from the main thread.
 */
export function parentDeathPrefix(): string[] {
  if (deathPrefix === null) {
    const r = process.platform === 'linux' ? spawnSync('setpriv', ['--help'], { encoding: 'utf8' }) : null
    deathPrefix = r && !r.error && r.status === 0 && r.stdout.includes('--pdeathsig') ? ['setpriv', '--pdeathsig', 'TERM'] : []
  }
  return deathPrefix
}

/**
 * Runs a short command (taskset) and resolves when it ends, with its exit status and stderr.
 * Not spawnSync: that blocks this thread until the child ends, and this thread is also the load
 * generator's; with both cores busy (servers starting) one taskset took ≈ 40 ms, a stall in every
 * window open at the time.
 */
export function runCommand(argv: readonly string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
    child.once('error', (err) => resolve({ status: null, stderr: err.message }))
    child.once('close', (status) => resolve({ status, stderr }))
  })
}

export interface OwnedSpawnOptions {
  stdio: StdioOptions
  env?: NodeJS.ProcessEnv
  /** CPU placement prefix (e.g. ['taskset', '-c', '1']): runs after the parent-death prefix, before the command. */
  wrapper?: string[]
  /** Who owns the child: told of it at once, and the marker it inherits. */
  owner?: ChildOwner
}

/**
 * The run that starts a child: told about it at once, before it is ready (the run records it in its
 * pid file), and handing it a file descriptor to inherit, the run's ownership marker (null: none),
 * by which a later run can prove that authbench started it (harness/processes/pidfile.ts).
 */
export interface ChildOwner {
  onSpawn(child: ChildProcess): void
  markerFd: number | null
}

/**
 * Starts a child the harness owns: under the parent-death prefix, and in a process group of its own
 * (a terminal's Ctrl-C reaches only the harness, which then stops its children in order; and
 * killing the group also takes a child's own children, e.g. nginx's workers).
 */
export function spawnOwned(argv: readonly string[], opts: OwnedSpawnOptions): ChildProcess {
  const [cmd, ...args] = [...parentDeathPrefix(), ...(opts.wrapper ?? []), ...argv]
  // the marker goes after the given stdio: the child holds it at fd 3, 4, …, whatever it does not use
  const marker = opts.owner?.markerFd ?? null
  const stdio = marker === null ? opts.stdio : [...(Array.isArray(opts.stdio) ? opts.stdio : [opts.stdio, opts.stdio, opts.stdio]), marker]
  const child = spawn(cmd!, args, { stdio, env: opts.env ?? process.env, detached: true })
  if (child.pid !== undefined) opts.owner?.onSpawn(child)
  return child
}

function running(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null
}

/** SIGKILL to a child's whole process group, now (synchronous: usable on the way out). */
export function killGroupNow(child: ChildProcess): void {
  if (!running(child)) return
  try {
    process.kill(-child.pid!, 'SIGKILL')
  } catch {
    child.kill('SIGKILL') // not a group leader after all
  }
}

/** Stops a child: SIGTERM, then SIGKILL to its process group after `graceMs`; then removes `dir`. */
export function stopChild(child: ChildProcess, dir?: string, graceMs = 3000): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined = undefined // set below; `done` may run before it is
    const done = () => {
      clearTimeout(timer)
      if (dir) rmSync(dir, { recursive: true, force: true })
      resolve()
    }
    if (!running(child)) return done()
    child.once('exit', done)
    timer = setTimeout(() => killGroupNow(child), graceMs)
    child.kill('SIGTERM')
  })
}
