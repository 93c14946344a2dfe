import type { FastifyInstance } from 'fastify'
import type { Socket } from 'node:net'

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
  /** Time of the reading, ms since epoch. */
  atMs: number
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
      bytesReadTotal: r, bytesWrittenTotal: w, requestsTotal: requests, connectionsTotal: connections, atMs: Date.now(),
    }
  }
  if (process.send) {
    process.on('message', (msg: unknown) => {
      const m = msg as { type?: string; id?: number; gc?: boolean }
      if (m?.type !== 'stats') return
      if (m.gc && typeof globalThis.gc === 'function') globalThis.gc()
      process.send!({ type: 'stats', id: m.id, stats: read() })
    })
  }
  return read
}
