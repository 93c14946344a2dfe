import { spawnSync, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { writeFileAtomic } from '../results/atomic-file.ts'

/**
 * Which processes a run started, on disk (`<run folder>/pids.json`), so that a later run can stop
 * what a harness killed before its teardown (kill -9, the OOM killer, a closed CI job) left behind —
 * and only that: a process is identified by its pid *and* its start time, so a reused pid never
 * matches, and must hold the run's ownership marker (OWNER_MARKER), so that a pids.json written by
 * anyone else (a shared or copied results folder) cannot aim the stop at a process authbench did
 * not start. The file disappears when the run has stopped everything.
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

const writeJson = (path: string, content: unknown) => writeFileAtomic(path, JSON.stringify(content, null, 2) + '\n')

/**
 * The ownership marker: a file in the run folder that every child of the run holds open (an
 * inherited file descriptor, which survives exec and setproctitle, unlike the environment or the
 * command line, both of which redis-server and nginx overwrite). Its content names the harness that
 * started the run. A later run stops a process only when the process itself holds this run folder's
 * marker, read through the process's own descriptor (/proc/<pid>/fd), and the harness it names is
 * gone: what a pids.json says is never enough.
 */
export const OWNER_MARKER = '.authbench-owner'

/** The pid file of one run: every child is added when spawned and dropped when it exits. */
export class PidFile {
  private readonly content: PidFileContent
  private marker: number | null = null

  constructor(private readonly path: string, owner?: { pid: number; start: string }) {
    this.content = { owner: owner ?? { pid: process.pid, start: processStart(process.pid) ?? 'unknown' }, processes: [] }
  }

  /**
   * The marker's file descriptor, for every child to inherit; created (exclusively: a file already
   * there is refused, never adopted) on first use, when the run folder exists.
   */
  markerFd(): number {
    if (this.marker === null) {
      const fd = openSync(join(dirname(this.path), OWNER_MARKER), 'wx+', 0o444)
      writeFileSync(fd, JSON.stringify({ owner: this.content.owner }) + '\n')
      this.marker = fd
    }
    return this.marker
  }

  track(child: ChildProcess, role: string): void {
    const pid = child.pid
    const start = pid === undefined ? null : processStart(pid)
    if (pid === undefined || start === null) return // already gone
    this.content.processes.push({ pid, start, role, command: child.spawnargs.join(' ') })
    writeJson(this.path, this.content)
    child.once('exit', () => {
      this.content.processes = this.content.processes.filter((p) => p.pid !== pid)
      if (existsSync(this.path)) writeJson(this.path, this.content)
    })
  }

  /** Called when the run has stopped everything. */
  remove(): void {
    rmSync(this.path, { force: true })
    if (this.marker !== null) {
      closeSync(this.marker)
      this.marker = null
      rmSync(join(dirname(this.path), OWNER_MARKER), { force: true })
    }
  }
}

export interface Leftover extends RecordedProcess {
  runDir: string
}

/** What a later run did about the pid files it found: what it stopped, and one line per file or process it left alone. */
export interface LeftoverStop {
  stopped: Leftover[]
  warnings: string[]
}

const isIdentity = (v: unknown): v is { pid: number; start: string } =>
  typeof v === 'object' && v !== null && Number.isInteger((v as { pid: unknown }).pid) && (v as { pid: number }).pid > 0 && typeof (v as { start: unknown }).start === 'string'

/** The content of a pids.json, or why it is not one that authbench wrote. */
export function parsePidFile(text: string): PidFileContent | string {
  let v: unknown
  try { v = JSON.parse(text) } catch (err) { return `not JSON (${(err as Error).message})` }
  if (typeof v !== 'object' || v === null) return `not an object (${text.trim().slice(0, 40)})`
  const { owner, processes } = v as Record<string, unknown>
  if (!isIdentity(owner)) return 'no valid owner'
  if (!Array.isArray(processes)) return 'no list of processes'
  const valid = processes.filter((p): p is RecordedProcess => isIdentity(p) && typeof (p as RecordedProcess).role === 'string' && typeof (p as RecordedProcess).command === 'string')
  if (valid.length !== processes.length) return 'a process entry without pid, start, role and command'
  return { owner, processes: valid }
}

/** Fields 3… of /proc/<pid>/stat (state, ppid, pgrp, …), or null. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

/**
 * The harness that started `pid` for the run in `runDir`, read from the ownership marker the process
 * itself holds open, or null when it holds none of that run folder (not started by authbench for
 * that run, or not readable: another user's process).
 */
export function markedOwner(pid: number, runDir: string): { pid: number; start: string } | null {
  if (process.platform !== 'linux') return null
  let expected: string
  try { expected = join(realpathSync(runDir), OWNER_MARKER) } catch { return null }
  let fds: string[]
  try { fds = readdirSync(`/proc/${pid}/fd`) } catch { return null }
  for (const fd of fds) {
    const link = `/proc/${pid}/fd/${fd}`
    let target: string
    try { target = readlinkSync(link) } catch { continue }
    if (target !== expected && target !== `${expected} (deleted)`) continue
    try {
      const owner = (JSON.parse(readFileSync(link, 'utf8')) as { owner?: unknown }).owner
      return isIdentity(owner) ? owner : null
    } catch {
      return null
    }
  }
  return null
}

/**
 * Stops the processes that earlier runs under `outDir` recorded and that still run although their
 * harness is gone: SIGTERM, then SIGKILL after `graceMs`. A process is signalled only while its
 * identity (pid and start time) still matches and it provably belongs to that run — it holds that run
 * folder's ownership marker, which names a harness no longer alive — and its process group only
 * when authbench made it (the process leads its own group). A pids.json that is not one authbench
 * wrote is skipped with a warning. Returns what it stopped and what it left alone.
 */
export async function stopLeftovers(outDir: string, graceMs = 3000): Promise<LeftoverStop> {
  const found: Leftover[] = []
  const warnings: string[] = []
  const files: string[] = []
  for (const entry of existsSync(outDir) ? readdirSync(outDir, { withFileTypes: true }) : []) {
    const runDir = join(outDir, entry.name)
    const file = join(runDir, PID_FILE)
    if (!entry.isDirectory() || !existsSync(file)) continue
    let text: string
    try { text = readFileSync(file, 'utf8') } catch (err) { warnings.push(`skipped ${file}: ${(err as Error).message}`); continue }
    const content = parsePidFile(text)
    if (typeof content === 'string') {
      warnings.push(`skipped ${file}: not a pid file authbench wrote (${content})`)
      continue
    }
    if (sameProcessAlive(content.owner.pid, content.owner.start)) continue // that run is still going
    files.push(file)
    for (const p of content.processes) {
      if (!sameProcessAlive(p.pid, p.start)) continue
      if (provablyLeftOver(p, runDir)) found.push({ ...p, runDir })
      else warnings.push(`left ${p.role} ${p.pid} alone: ${file} lists it, but nothing shows that authbench started it for that run (no ownership marker of a finished harness)`)
    }
  }
  const signal = (p: Leftover, sig: NodeJS.Signals) => {
    if (!sameProcessAlive(p.pid, p.start) || !provablyLeftOver(p, p.runDir)) return
    const leadsGroup = statFields(p.pid)?.[2] === String(p.pid) // spawnOwned starts every child in a group of its own
    try { process.kill(leadsGroup ? -p.pid : p.pid, sig) } catch { /* gone */ }
  }
  for (const p of found) signal(p, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (found.some((p) => sameProcessAlive(p.pid, p.start)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  for (const p of found) signal(p, 'SIGKILL')
  for (const file of files) {
    markAbandoned(dirname(file))
    rmSync(file, { force: true })
  }
  return { stopped: found, warnings }
}

/** The process holds `runDir`'s ownership marker, and the harness it names is gone. */
function provablyLeftOver(p: RecordedProcess, runDir: string): boolean {
  const owner = markedOwner(p.pid, runDir)
  return owner !== null && !sameProcessAlive(owner.pid, owner.start)
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
  writeJson(path, results)
}
