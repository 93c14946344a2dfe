/**
 * The server's own stats over HTTP, for a harness that did not start it (target mode): what the IPC
 * probe reads today — CPU time, requests, socket bytes, heap, GC, connections — on a port of its own,
 * never the one that serves /me. It answers GET /stats with a bearer token and nothing else; it binds
 * to 127.0.0.1 unless told otherwise. Its own requests and bytes are not counted in the stats (it is
 * not the app's server); its CPU is, as the IPC probe's is.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ProcessStats } from './instrument.ts'

/** The request the endpoint serves; anything else is refused. */
export const STATS_PATH = '/stats'

export interface StatsEndpoint {
  port: number
  host: string
  close(): Promise<void>
}

/** Stats as the IPC probe gives them: optionally after a forced GC, optionally with the host-speed loop timed first. */
export type ReadStats = (o: { gc: boolean; speed: boolean }) => ProcessStats

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Whether `header` is `Bearer <token>`, compared in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (\S+)$/.exec(header ?? '')
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token))
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
  res.end(text)
}

function handle(req: IncomingMessage, res: ServerResponse, token: string, read: ReadStats): void {
  req.resume() // a body, if any, is not read
  if (!bearerMatches(req.headers.authorization, token)) return send(res, 401, { error: 'unauthorized' })
  const url = new URL(req.url ?? '/', 'http://stats')
  if (url.pathname !== STATS_PATH) return send(res, 404, { error: 'not found' })
  if (req.method !== 'GET') return send(res, 405, { error: 'method not allowed' })
  send(res, 200, read({ gc: url.searchParams.get('gc') === '1', speed: url.searchParams.get('speed') === '1' }))
}

/** Listens on `host:port` (0: any free port); resolves once it does. */
export function startStatsEndpoint(o: { host: string; port: number; token: string; read: ReadStats }): Promise<StatsEndpoint> {
  const server = createServer((req, res) => handle(req, res, o.token, o.read))
  server.keepAliveTimeout = 5000
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => {
      const { port } = server.address() as AddressInfo
      resolve({
        port,
        host: o.host,
        close: () => new Promise<void>((done) => { server.closeAllConnections(); server.close(() => done()) }),
      })
    })
  })
}
