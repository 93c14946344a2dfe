/**
 * Separate machines, for real, on one machine (root only; skipped with the reason elsewhere): a server
 * and Redis in one network namespace, two load-generator shards in two others, joined by veth pairs
 * and a bridge, so that the load crosses a (virtual) network instead of loopback. The stats endpoint's
 * binding is checked as deployed — on loopback by default, so unreachable from another host; on its
 * host's address when told, and then only with the token — and the two shards, run from their own
 * hosts, merge into one run whose counts are the sums exactly, with server-side CPU per request read
 * across the network.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serverBundle } from '../harness/processes/server-bundle.ts'
import type { RunResults, ThroughputRepeat, WindowMeasurement } from '../harness/results/results.ts'
import { statsToken } from '../servers/secrets.ts'
import { netnsUnavailable, VirtualNetwork, type Host } from './netns.ts'
import { validateResults } from './validate.ts'

const ROOT = join(import.meta.dirname, '..')
const SECRET = 'netns-test-secret-0123456789abcdef'
const TOKEN = statsToken({ AUTHBENCH_SECRET: SECRET })!
const unavailable = netnsUnavailable()
if (unavailable) process.stderr.write(`netns.test.ts: skipped: ${unavailable}\n`)

const results = (dir: string): RunResults => JSON.parse(readFileSync(join(dir, readdirSync(dir).find((d) => !d.endsWith('.log'))!, 'results.json'), 'utf8')) as RunResults
const windows = (r: RunResults): WindowMeasurement[] => r.cells.flatMap((c) => (c.scenario === 'throughput' && c.state === 'completed' ? (c.repeats as ThroughputRepeat[]) : []))
  .flatMap((rep) => rep.levels.flatMap((l) => l.pairs.flatMap((p) => [p.me, p.health])))
const responses = (w: WindowMeasurement) => Object.values(w.statusCodes).reduce((a, b) => a + b, 0)

describe.skipIf(unavailable !== null)(`separate hosts as network namespaces (root only${unavailable ? `; skipped here: ${unavailable}` : ''})`, () => {
  let net: VirtualNetwork
  let srv: Host
  const out = mkdtempSync(join(tmpdir(), 'authbench-netns-'))

  /** A process in a namespace, done when it exits: its code and everything it printed. */
  const runIn = (host: Host, args: string[], env: Record<string, string>) => {
    const child = net.spawnIn(host, [process.execPath, '--import', 'tsx', ...args], { cwd: ROOT, env: { ...process.env, ...env } })
    let text = ''
    child.stdout!.on('data', (d: Buffer) => { text += d })
    child.stderr!.on('data', (d: Buffer) => { text += d })
    return new Promise<{ code: number | null; out: string }>((resolve) => child.once('close', (code) => resolve({ code, out: text })))
  }
  /** A server in the server's namespace, on its address; its stats port where `statsHost` says. */
  const startServer = async (port: number, statsPort: number, statsHost?: string) => {
    const child = net.spawnIn(srv, [process.execPath, serverBundle(), '--strategy', 'jwt', '--host', srv.address, '--port', String(port), '--stats-port', String(statsPort),
      ...(statsHost ? ['--stats-host', statsHost] : [])], { env: { ...process.env, AUTHBENCH_SECRET: SECRET } })
    await new Promise((resolve) => createInterface({ input: child.stdout! }).once('line', resolve))
  }

  beforeAll(async () => {
    net = new VirtualNetwork(['srv', 'g0', 'g1'])
    srv = net.host('srv')
    net.spawnIn(srv, ['redis-server', '--port', '6379', '--bind', srv.address, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'])
    const probe = new Redis(`redis://${srv.address}:6379`, { maxRetriesPerRequest: null, retryStrategy: (n) => (n > 50 ? null : 100) })
    probe.on('error', () => {}) // refused until redis-server listens: retried
    await probe.ping()
    probe.disconnect()
    await startServer(3000, 3001) // stats on its default, loopback
    await startServer(3100, 3101, srv.address) // stats on the host's address, as a deployment would bind it
  }, 30_000)
  afterAll(() => {
    net?.remove()
    rmSync(out, { recursive: true, force: true })
  })

  it('the stats endpoint binds loopback by default: another host cannot reach it; bound to the address, it answers only with the token', async () => {
    const stats = (port: number, headers: Record<string, string> = {}) => fetch(`http://${srv.address}:${port}/stats`, { headers }).then((r) => r.status, (e: Error) => (e.cause as { code?: string })?.code ?? e.message)
    expect(await stats(3001, { authorization: `Bearer ${TOKEN}` })).toBe('ECONNREFUSED')
    expect(await stats(3101)).toBe(401)
    expect(await stats(3101, { authorization: 'Bearer wrong-token-0123456789' })).toBe(401)
    expect(await stats(3101, { authorization: `Bearer ${TOKEN}` })).toBe(200)
    expect(await stats(3100, { authorization: `Bearer ${TOKEN}` })).toBe(404) // the service port serves no stats
  })

  it('two shards on two other hosts drive the server across the network, merged exactly, CPU read server-side', async () => {
    const target = `http://${srv.address}:3100`
    const env = { AUTHBENCH_SECRET: SECRET, AUTHBENCH_RENDEZVOUS_URL: `redis://${srv.address}:6379` }
    const hosts = [net.host('g0'), net.host('g1')]
    const sentBefore = hosts.map((h) => net.sentBytes(h))
    const done = await Promise.all(hosts.map((h, i) => runIn(h, ['scripts/bench.ts', '--quick', '--no-pin', '--scenarios', 'throughput', '--strategies', 'jwt',
      '--target', target, '--target-stats', `http://${srv.address}:3101`, '--shard', `${i}/2`, '--run-id', 'netns-test', '--out', join(out, `s${i}`)], { ...env, JOB_COMPLETION_INDEX: String(i) })))
    for (const d of done) expect(d.code, d.out).toBe(0)
    const dirs = [0, 1].map((i) => join(out, `s${i}`, readdirSync(join(out, `s${i}`))[0]!))
    const merged = await runIn(srv, ['scripts/merge.ts', ...dirs, '--out', join(out, 'merged')], env)
    expect(merged.code, merged.out).toBe(0)

    const [s0, s1] = [results(join(out, 's0')), results(join(out, 's1'))]
    const m = JSON.parse(readFileSync(join(out, 'merged', 'results.json'), 'utf8')) as RunResults
    expect(validateResults(m)).toEqual([])
    expect(s0.options.targets).toEqual([target])
    const [w0, w1, wm] = [windows(s0), windows(s1), windows(m)]
    expect(wm.length).toBeGreaterThan(0)
    wm.forEach((w, k) => {
      expect(responses(w)).toBe(responses(w0[k]!) + responses(w1[k]!))
      expect(w.serverCpuMicrosPerRequest).toBeGreaterThan(0) // read from the stats endpoint across the network
    })
    // each shard's load left its own host: its veth sent at least a request line per response
    hosts.forEach((h, i) => {
      const sent = windows([s0, s1][i]!).reduce((a, w) => a + responses(w), 0)
      expect(net.sentBytes(h) - sentBefore[i]!).toBeGreaterThan(sent * 20)
    })
    expect(m.merged?.shards).toBe(2)
  }, 180_000)
})
