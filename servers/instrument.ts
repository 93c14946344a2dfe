import type { FastifyInstance } from 'fastify'
import type { Socket } from 'node:net'
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { readSpeed, type SpeedReading } from './speed-loop.ts'

/**
 * V8 settings every server runs with once it is ready, set at run time rather than as node flags: a
 * node flag changes V8's flag hash, and then Node's own code cache for its built-in modules no longer
 * matches, so each start compiles them from source (≈ 30 ms of a 0.3 s start, measured), as would the
 * bundle's code cache (harness/processes/server-bundle.ts). Only forced GCs and bytecode flushing need them,
 * both long after start.
 * - expose-gc: memory and hostile readings force a collection over IPC first (`forceGc`);
 * - no-flush-bytecode: V8 would drop the bytecode of functions idle for a while, which would show up
 *   as heap that shrinks between readings;
 *
 * One flag cannot wait, and is a node flag (harness/processes/orchestrator.ts SERVER_NODE_ARGS): no-memory-reducer.
 * A server idle for a while (between a cell's repeats, ≈ 25 s while the other cells run) got a
 * memory-reducing mark-compact, which also drops compiled code and type feedback; the next window then
 * recompiled its hot paths (four V8 helper threads busy) and cost 2–2.5× per /me request: at a process
 * age of ≈ 2 min in every default run (memory-session +68 to +113 %, redis-session up to +155 %,
 * jwt-cookie +25 to +50 %). The reducer is set up with the heap: set here, the flag changes nothing.
 */
/** Emitted on `process` when a server is ready, just before it says so: the bundle's loader then saves its code cache. */
export const READY_EVENT = 'authbench:ready'

export function applyRuntimeFlags(): void {
  setFlagsFromString('--no-flush-bytecode')
  setFlagsFromString('--expose-gc')
}

let gcFn: (() => void) | null = null
/** A full, forced garbage collection (expose-gc set at run time exposes `gc` in new contexts only). */
export function forceGc(): void {
  gcFn ??= (typeof globalThis.gc === 'function' ? globalThis.gc : (setFlagsFromString('--expose-gc'), runInNewContext('gc') as () => void))
  gcFn()
}

/** What the harness reads from a server process, over IPC only (never over the measured HTTP port). */
export interface ProcessStats {
  /** process.cpuUsage() user+system since start, µs. */
  cpuUserMicros: number
  cpuSystemMicros: number
  rssBytes: number
  heapUsedBytes: number
  /** Bytes read from / written to client sockets since start (closed and open sockets). */
  bytesReadTotal: number
  bytesWrittenTotal: number
  /** Requests answered since start. */
  requestsTotal: number
  /** TCP connections accepted since start. */
  connectionsTotal: number
  /** Client connections open now (the load's, until the server has seen them close). */
  openConnections: number
  /** Major (mark-compact) garbage collections since the stats began, and the main-thread pause of all GCs, ms. */
  gcMajorTotal: number
  gcPauseMsTotal: number
  /** Time of the reading, ms since epoch. */
  atMs: number
  /** Asked for (`speed`): the host-speed probe timed in this process (servers/speed-loop.ts), before the reading. */
  speed?: SpeedReading
}

/**
 * Counts bytes at the server's sockets: socket.bytesRead/bytesWritten are exact wire counts of
 * HTTP bytes (headers and bodies), independent of the load generator. Closed sockets are folded
 * into running totals. Costs one listener per connection, nothing per request.
 */
export function attachInstrumentation(app: FastifyInstance): () => ProcessStats {
  const open = new Set<Socket>()
  let closedRead = 0
  let closedWritten = 0
  let requests = 0
  let connections = 0
  app.server.on('connection', (socket: Socket) => {
    connections++
    open.add(socket)
    socket.once('close', () => {
      open.delete(socket)
      closedRead += socket.bytesRead
      closedWritten += socket.bytesWritten
    })
  })
  app.server.on('request', () => { requests++ })
  // One entry per GC (a few dozen per second under load): what a window's CPU includes besides requests.
  let gcMajor = 0
  let gcPauseMs = 0
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcPauseMs += e.duration
      if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) gcMajor++
    }
  }).observe({ entryTypes: ['gc'] })
  const read = (): ProcessStats => {
    let r = closedRead
    let w = closedWritten
    for (const s of open) {
      r += s.bytesRead
      w += s.bytesWritten
    }
    const cpu = process.cpuUsage()
    const mem = process.memoryUsage()
    return {
      cpuUserMicros: cpu.user, cpuSystemMicros: cpu.system, rssBytes: mem.rss, heapUsedBytes: mem.heapUsed,
      bytesReadTotal: r, bytesWrittenTotal: w, requestsTotal: requests, connectionsTotal: connections, openConnections: open.size,
      gcMajorTotal: gcMajor, gcPauseMsTotal: gcPauseMs, atMs: Date.now(),
    }
  }
  if (process.send) {
    process.on('message', (msg: unknown) => {
      const m = msg as { type?: string; id?: number; gc?: boolean; speed?: boolean }
      if (m?.type !== 'stats') return
      process.send!({ type: 'stats', id: m.id, stats: statsWith(read, { gc: m.gc === true, speed: m.speed === true }) })
    })
  }
  return read
}

/** A reading as the probes ask for it: after a forced GC (`gc`), with the host-speed loop timed first (`speed`). */
export function statsWith(read: () => ProcessStats, o: { gc: boolean; speed: boolean }): ProcessStats {
  if (o.gc) forceGc()
  const speed = o.speed ? { speed: readSpeed() } : {}
  return { ...read(), ...speed }
}
