import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConnectionPlan, LoadGenerator, LoadOutcome } from './types.ts'
import type { BenchOptions } from '../run/options.ts'
import { OptionError } from '../run/options.ts'

/** The Lua script that rotates credentials (see its header). */
export const WRK_SCRIPT = join(import.meta.dirname, 'wrk-rotate.lua')

/** The wrk to run: `AUTHBENCH_WRK` (a path or a name on PATH) when set, else `wrk` on PATH. */
export function wrkBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.AUTHBENCH_WRK || 'wrk'
}

/** wrk's version line ("debian/4.1.0-3+b2"), or null when `bin` cannot be run as wrk. */
export function wrkVersion(bin: string = wrkBinary()): string | null {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000 })
  if (r.error) return null
  return /^wrk (\S+)/m.exec(`${r.stdout}${r.stderr}`)?.[1] ?? null
}

export function wrkMissing(bin: string = wrkBinary()): string {
  return `wrk not found (${bin}): install it (Debian/Ubuntu: sudo apt-get install -y wrk) or use --generator autocannon`
}

export class WrkUnavailableError extends Error {
  override name = 'WrkUnavailableError'
}

/** For the bench command, before anything starts: `--generator wrk` without wrk is a bad option (exit 2, one line). */
export function checkGenerator(options: Pick<BenchOptions, 'generator'>, bin: string = wrkBinary()): void {
  if (options.generator === 'wrk' && wrkVersion(bin) === null) throw new OptionError(`--generator wrk: ${wrkMissing(bin)}`)
}

type PlannedRequest = ConnectionPlan['requests'][number]

/**
 * The bytes autocannon writes for a request (node_modules/autocannon/lib/httpRequestBuilder.js):
 * request line, Host, `Connection: keep-alive`, the plan's headers in order, Content-Length for a
 * body. wrk sends exactly these, so the servers read the same bytes whichever generator drives.
 */
export function rawRequest(url: string, r: PlannedRequest): string {
  const u = new URL(url)
  const headers: Record<string, string> = { ...r.headers }
  const hasHost = Object.keys(headers).some((h) => h.toLowerCase() === 'host')
  const body = r.body ?? ''
  if (body.length > 0) headers['Content-Length'] = String(Buffer.byteLength(body))
  const lines = [`${r.method} ${r.path} HTTP/1.1`, ...(hasHost ? [] : [`Host: ${u.hostname}:${u.port || 80}`]), 'Connection: keep-alive']
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
  return `${lines.join('\r\n')}\r\n\r\n${body}`
}

/** Threads for `connections`: as many as the cores this process may run on, dividing the connections evenly (wrk gives each thread connections / threads). */
export function wrkThreads(connections: number, cores: number = availableParallelism()): number {
  for (let t = Math.min(connections, Math.max(1, cores)); t > 1; t--) if (connections % t === 0) return t
  return 1
}

/** What `authbench-wrk {json}` (printed by the Lua script's done()) carries. */
interface WrkReport {
  durationUs: number
  requests: number
  bytes: number
  connectErrors: number
  readErrors: number
  writeErrors: number
  statusErrors: number
  timeouts: number
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number }
  cpuTicksAtInit: number
  cpuTicksAtEnd: number
}

export function parseWrkReport(stdout: string): WrkReport | null {
  const line = stdout.split('\n').find((l) => l.startsWith('authbench-wrk '))
  return line ? (JSON.parse(line.slice('authbench-wrk '.length)) as WrkReport) : null
}

/** True once wrk catches SIGINT (bit 2 of SigCgt): from then on SIGINT ends its run and it reports. */
function catchesSigint(pid: number): boolean {
  try {
    const m = /^SigCgt:\s*([0-9a-f]+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m !== null && (BigInt(`0x${m[1]}`) & 2n) !== 0n
  } catch {
    return false
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** wrk checks for a stop request on a 100 ms timer (RECORD_INTERVAL_MS). */
const WRK_TICK_SEC = 0.1

/**
 * Drives load with wrk (Debian's `wrk` package) through the same connection plans as autocannon:
 * the plans are split over wrk's threads, each thread cycling through its plans' raw requests
 * (harness/load/wrk-rotate.lua), written once per plan set to a temporary folder. wrk's `-d` takes whole
 * seconds, so a window is ended with SIGINT once wrk has installed its handler (`-d` stays as the
 * bound, and a SIGKILL follows if even that fails). wrk notices the stop on its next 100 ms tick,
 * so the signal goes half a tick early (windows last their length on average); its own run time,
 * which covers that tail, is the load's duration.
 *
 * What wrk cannot tell: response status codes one by one (it counts status ≥ 400 as errors; codes
 * are recorded as `<400` and `>=400`). Its latency percentiles are corrected for coordinated
 * omission (`stats_correct`), autocannon's are not. It stops without waiting for the requests in
 * flight (autocannon's runner lets them finish): the servers may count up to one request per
 * connection that wrk never saw answered. Linux only (/proc).
 */
export class WrkGenerator implements LoadGenerator {
  readonly name = 'wrk'
  private readonly dir = mkdtempSync(join(tmpdir(), 'authbench-wrk-'))
  private readonly prepared = new WeakMap<readonly ConnectionPlan[], { folder: string; url: string; threads: number; connections: number }>()
  private folders = 0
  private readonly clockTicksPerSec: number

  constructor(readonly bin: string = wrkBinary()) {
    if (wrkVersion(bin) === null) {
      this.close()
      throw new WrkUnavailableError(wrkMissing(bin))
    }
    this.clockTicksPerSec = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100
  }

  private prepare(plans: readonly ConnectionPlan[]) {
    let p = this.prepared.get(plans)
    if (p) return p
    const urls = new Set(plans.map((x) => x.url))
    if (urls.size !== 1) throw new WrkUnavailableError(`wrk drives one URL, these plans have ${urls.size}: put a balancer in front (--balancer haproxy|nginx) or use --generator autocannon`)
    const threads = wrkThreads(plans.length)
    const folder = join(this.dir, String(++this.folders))
    mkdirSync(folder)
    for (let t = 0; t < threads; t++) {
      const mine = plans.filter((_, k) => k % threads === t)
      // interleave the thread's plans, so that it visits every user as its connections together would
      const rounds = Math.max(...mine.map((x) => x.requests.length))
      const raw: string[] = []
      for (let j = 0; j < rounds; j++) for (const plan of mine) if (j < plan.requests.length) raw.push(rawRequest(plan.url, plan.requests[j]!))
      writeFileSync(join(folder, `t${t}.req`), raw.map((r) => `${r}\0`).join(''))
    }
    p = { folder, url: plans[0]!.url, threads, connections: plans.length }
    this.prepared.set(plans, p)
    return p
  }

  async run(plans: ConnectionPlan[], durationSec: number, signal?: AbortSignal): Promise<LoadOutcome> {
    const p = this.prepare(plans)
    const boundSec = Math.ceil(durationSec) + 2
    const args = ['-t', String(p.threads), '-c', String(p.connections), '-d', `${boundSec}s`, '--timeout', '10s', '-s', WRK_SCRIPT, p.url, p.folder]
    const startedAtEpochMs = performance.timeOrigin + performance.now()
    const child = spawn(this.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (code) => resolve(code))
    })
    const kill = setTimeout(() => child.kill('SIGKILL'), (boundSec + 5) * 1000)
    const onAbort = () => child.kill('SIGKILL')
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      let ended = false
      void exited.then(() => { ended = true }, () => { ended = true })
      while (!ended && !catchesSigint(child.pid!)) await sleep(2)
      if (!ended) {
        await Promise.race([sleep(Math.max(0, durationSec - WRK_TICK_SEC / 2) * 1000), exited])
        child.kill('SIGINT')
      }
      const code = await exited
      if (signal?.aborted) throw signal.reason ?? new Error('aborted')
      const report = parseWrkReport(stdout)
      if (code !== 0 || report === null) throw new Error(`wrk failed (exit ${code}): ${(stderr || stdout).trim().split('\n').slice(-3).join(' | ')}`)
      return outcome(report, p.threads, this.clockTicksPerSec, startedAtEpochMs)
    } finally {
      clearTimeout(kill)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}

function outcome(r: WrkReport, threads: number, ticksPerSec: number, startedAtEpochMs: number): LoadOutcome {
  const ms = (us: number) => us / 1000
  const ok = r.requests - r.statusErrors
  const statusCodes: Record<string, number> = {}
  if (ok > 0) statusCodes['<400'] = ok
  if (r.statusErrors > 0) statusCodes['>=400'] = r.statusErrors
  const cpuTicks = r.cpuTicksAtInit >= 0 && r.cpuTicksAtEnd >= 0 ? r.cpuTicksAtEnd - r.cpuTicksAtInit : 0
  return {
    statusCodes,
    responses: r.requests,
    non2xx: r.statusErrors,
    errors: r.connectErrors + r.readErrors + r.writeErrors + r.timeouts,
    timeouts: r.timeouts,
    latencyMs: { p50: ms(r.latencyUs.p50), p90: ms(r.latencyUs.p90), p99: ms(r.latencyUs.p99), p999: ms(r.latencyUs.p999), max: ms(r.latencyUs.max), mean: ms(r.latencyUs.mean) },
    generatorResponseBytes: r.bytes,
    durationSec: r.durationUs / 1e6,
    generatorCpuMicros: (cpuTicks / ticksPerSec) * 1e6,
    generatorThreads: threads,
    latencyHistogram: null,
    startedAtEpochMs,
  }
}
