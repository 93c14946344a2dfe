/**
 * A port probed free and then bound by a program that cannot take port 0 (redis-server, HAProxy,
 * nginx) can be taken by another process in between: tests run in parallel, and other runs. The
 * harness must then find out, never take that other process for its own.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { balancerVersion, startBalancer, startOn } from '../harness/processes/balancer.ts'
import { startPrivateRedis } from '../harness/processes/redis-server.ts'

/** An HTTP server on a port of its own that answers 200 "ok" to every path (a stranger on the port). */
async function stranger(): Promise<{ port: number; hits: () => number }> {
  let hits = 0
  const srv: Server = createServer((_req, res) => { hits++; res.end('ok') })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  onTestFinished(() => new Promise<void>((r) => srv.close(() => r())))
  const addr = srv.address()
  return { port: typeof addr === 'object' && addr ? addr.port : 0, hits: () => hits }
}

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'authbench-ports-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

describe('a port taken between probe and bind', () => {
  it('redis-server: the start fails rather than hand back the other Redis', async () => {
    const other = await startPrivateRedis()
    onTestFinished(() => other.stop())
    await expect(startPrivateRedis({ port: other.port })).rejects.toThrow(/redis-server did not start: .*Address already in use/)
  })

  for (const kind of ['haproxy', 'nginx'] as const) {
    it.skipIf(balancerVersion(kind) === null)(`${kind}: a stranger answering 200 on the port is found out by the identity token`, async () => {
      const backend = await stranger()
      const taken = await stranger()
      const found = { kind, version: balancerVersion(kind)! }
      expect(await startOn(found, taken.port, [backend.port], { sticky: false, dir: tmp() })).toBe('port taken')
      expect(backend.hits()).toBe(0) // nothing was forwarded: the balancer never ran
      // and a balancer on a port of its own does start and forward
      const lb = await startBalancer(kind, [backend.port], { sticky: false, dir: tmp() })
      onTestFinished(() => lb.stop())
      expect(await (await fetch(`${lb.url}/health`)).text()).toBe('ok')
    })
  }

  it.skipIf(balancerVersion('haproxy') === null)('haproxy: a second HAProxy on the same port does not share it (no SO_REUSEPORT)', async () => {
    const backend = await stranger()
    const found = { kind: 'haproxy' as const, version: balancerVersion('haproxy')! }
    const first = await startBalancer('haproxy', [backend.port], { sticky: false, dir: tmp() })
    onTestFinished(() => first.stop())
    const port = Number(new URL(first.url).port)
    expect(await startOn(found, port, [backend.port], { sticky: false, dir: tmp() })).toBe('port taken')
  })
})
