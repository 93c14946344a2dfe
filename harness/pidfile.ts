import { spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/**
 * Which processes a run started, on disk (`<run folder>/pids.json`), so that a later run can stop
 * what a harness killed before its teardown (kill -9, the OOM killer, a closed CI job) left behind —
 * and only that: a process is identified by its pid *and* its start time, so a reused pid never
 * matches. The file disappears when the run has stopped everything.
 */
export const PID_FILE = 'pids.json'

export interface RecordedProcess {
  pid: number
  /** Start time as the OS reports it (Linux: boot id + start ticks from /proc/<pid>/stat). */
  start: string
  role: string
  command: string
}

export interface PidFileContent {
  /** The harness that started them: while it lives, its processes are none of a later run's business. */
  owner: { pid: number; start: string }
  processes: RecordedProcess[]
}

let bootId: string | null | undefined

/**
 * A process's start time, stable for its whole life (also across exec), or null when the process
 * does not exist or is a zombie. Linux reads /proc; elsewhere `ps -o lstart=`.
 */
export function processStart(pid: number): string | null {
  if (!Number.isInteger(pid) || pid <= 0) return null
  if (process.platform === 'linux') {
    let stat: string
    try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8') } catch { return null }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // fields 3… of proc(5); the name may hold spaces
    if (fields[0] === 'Z' || fields[0] === 'X') return null
    if (bootId === undefined) {
      try { bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() } catch { bootId = null }
    }
    return `${bootId ?? 'boot'}:${fields[19]}` // field 22: starttime
  }
  const r = spawnSync('ps', ['-o', 'stat=,lstart=', '-p', String(pid)], { encoding: 'utf8' })
  const out = r.status === 0 ? r.stdout.trim() : ''
  return out && !out.startsWith('Z') ? out.replace(/^\S+\s+/, '') : null
}

/** True while the process that had this identity lives. */
export function sameProcessAlive(pid: number, start: string): boolean {
  return processStart(pid) === start
}

/** Writes JSON so that a reader sees the old file or the new one, never half of it. */
function writeAtomic(path: string, content: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(content, null, 2) + '\n')
  renameSync(tmp, path)
}

/** The pid file of one run: every child is added when spawned and dropped when it exits. */
export class PidFile {
  private readonly content: PidFileContent

  constructor(private readonly path: string) {
    this.content = { owner: { pid: process.pid, start: processStart(process.pid) ?? 'unknown' }, processes: [] }
  }

  track(child: ChildProcess, role: string): void {
    const pid = child.pid
    const start = pid === undefined ? null : processStart(pid)
    if (pid === undefined || start === null) return // already gone
    this.content.processes.push({ pid, start, role, command: child.spawnargs.join(' ') })
    writeAtomic(this.path, this.content)
    child.once('exit', () => {
      this.content.processes = this.content.processes.filter((p) => p.pid !== pid)
      if (existsSync(this.path)) writeAtomic(this.path, this.content)
    })
  }

  /** Called when the run has stopped everything. */
  remove(): void {
    rmSync(this.path, { force: true })
  }
}

export interface Leftover extends RecordedProcess {
  runDir: string
}

/**
 * Stops the processes that earlier runs under `outDir` recorded and that still run although their
 * harness is gone: SIGTERM, then SIGKILL to the process group after `graceMs`. A process is only
 * signalled while its identity still matches. Returns what it stopped.
 */
export async function stopLeftovers(outDir: string, graceMs = 3000): Promise<Leftover[]> {
  const found: Leftover[] = []
  const files: string[] = []
  for (const entry of existsSync(outDir) ? readdirSync(outDir, { withFileTypes: true }) : []) {
    const file = join(outDir, entry.name, PID_FILE)
    if (!entry.isDirectory() || !existsSync(file)) continue
    let content: PidFileContent
    try { content = JSON.parse(readFileSync(file, 'utf8')) as PidFileContent } catch { continue }
    if (sameProcessAlive(content.owner.pid, content.owner.start)) continue // that run is still going
    files.push(file)
    for (const p of content.processes) if (sameProcessAlive(p.pid, p.start)) found.push({ ...p, runDir: join(outDir, entry.name) })
  }
  const signal = (p: Leftover, sig: NodeJS.Signals) => {
    if (!sameProcessAlive(p.pid, p.start)) return
    try { process.kill(-p.pid, sig) } catch { try { process.kill(p.pid, sig) } catch { /* gone */ } }
  }
  for (const p of found) signal(p, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (found.some((p) => sameProcessAlive(p.pid, p.start)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  for (const p of found) signal(p, 'SIGKILL')
  for (const file of files) {
    markAbandoned(dirname(file))
    rmSync(file, { force: true })
  }
  return found
}

/**
 * A run whose harness died without its teardown (kill -9, the OOM killer) left its results.json
 * saying `running`, forever: once a later run finds it, it says `interrupted`, and why. Every cell it
 * finished is kept as it was.
 */
function markAbandoned(runDir: string): void {
  const path = join(runDir, 'results.json')
  let results: { status?: string; reason?: string; finishedAt?: string | null }
  try { results = JSON.parse(readFileSync(path, 'utf8')) } catch { return }
  if (results.status !== 'running') return
  results.status = 'interrupted'
  results.reason = 'the harness died without finishing (killed: kill -9, the OOM killer, a closed CI job); marked so by a later run, which stopped what it left running'
  results.finishedAt ??= null
  writeAtomic(path, results)
}
