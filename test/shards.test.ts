/**
 * Load-generator shards: two `npm run bench -- --shard i/2` processes, started as an Indexed Job's pods
 * would be (JOB_COMPLETION_INDEX set), against one server started by hand, their windows started
 * together through a private Redis; then `npm run merge`. The merged request counts are the sums,
 * exactly; merged percentiles are those of the union of the shards' histograms, not an average of
 * theirs; the servers counted what the shards sent; the start skew is recorded.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import * as hdr from 'hdr-histogram-js'
import { describe, expect, it, onTestFinished } from 'vitest'
import { startPrivateRedis } from '../harness/processes/redis-server.ts'
import { serverBundle } from '../harness/processes/server-bundle.ts'
import type { RunResults, ThroughputRepeat, WindowMeasurement } from '../harness/results/results.ts'
import { MergeError, mergeShardRuns } from '../report/merge.ts'
import { SCENARIOS } from '../scenarios/index.ts'
import { validateResults } from './validate.ts'

const ROOT = join(import.meta.dirname, '..')
const SECRET = 'shards-test-secret-0123456789abcdef'

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d })
  child.stderr.on('data', (d: Buffer) => { out += d })
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out })))
}

async function startTarget(): Promise<{ url: string; stats: string }> {
  const child = spawn(process.execPath, [serverBundle(), '--strategy', 'jwt', '--port', '0', '--stats-port', '0', '--users', '20000'], { env: { ...process.env, AUTHBENCH_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'ignore'] })
  onTestFinished(() => { child.kill('SIGKILL') })
  const ready = await new Promise<{ port: number; statsPort: number }>((resolve) => createInterface({ input: child.stdout! }).once('line', (l) => resolve(JSON.parse(l))))
  return { url: `http://127.0.0.1:${ready.port}`, stats: `http://127.0.0.1:${ready.statsPort}` }
}

const results = (dir: string): RunResults => JSON.parse(readFileSync(join(dir, readdirSync(dir).find((d) => !d.endsWith('.log'))!, 'results.json'), 'utf8')) as RunResults
const throughputRepeats = (r: RunResults) => {
  const c = r.cells.find((x) => x.scenario === 'throughput')!
  return c.state === 'completed' ? (c.repeats as ThroughputRepeat[]) : []
}
const windows = (r: RunResults): WindowMeasurement[] => throughputRepeats(r).flatMap((rep) => rep.levels.flatMap((l) => l.pairs.flatMap((p) => [p.me, p.health])))
const responses = (w: WindowMeasurement) => Object.values(w.statusCodes).reduce((a, b) => a + b, 0)

describe('load-generator shards', () => {
  it('two shards started apart, windows started together, merged exactly', async () => {
    const target = await startTarget()
    const redis = await startPrivateRedis({})
    onTestFinished(() => redis.stop())
    const out = mkdtempSync(join(tmpdir(), 'authbench-shards-'))
    onTestFinished(() => rmSync(out, { recursive: true, force: true }))
    const env = { AUTHBENCH_SECRET: SECRET, AUTHBENCH_RENDEZVOUS_URL: redis.url }
    const shard = (index: number) => {
      const pod = { ...env, JOB_COMPLETION_INDEX: String(index) } // as the Indexed Job's pod k has it
      return run(['scripts/bench.ts', '--quick', '--no-pin', '--scenarios', 'throughput', '--strategies', 'jwt', '--target', target.url, '--target-stats', target.stats,
        '--shard', `${pod.JOB_COMPLETION_INDEX}/2`, '--run-id', 'shards-test', '--out', join(out, `s${index}`)], pod)
    }
    // the second pod starts 2 s after the first, as pods do: its logins and warm-up then run while the
    // first already waits at the first window, and must not be counted in it
    const done = await Promise.all([shard(0), new Promise((r) => setTimeout(r, 2000)).then(() => shard(1))])
    for (const d of done) expect(d.code, d.out).toBe(0)
    const merged = await run(['scripts/merge.ts', join(out, 's0', readdirSync(join(out, 's0'))[0]!), join(out, 's1', readdirSync(join(out, 's1'))[0]!), '--out', join(out, 'merged')], env)
    expect(merged.code, merged.out).toBe(0)

    const [s0, s1] = [results(join(out, 's0')), results(join(out, 's1'))]
    const m = JSON.parse(readFileSync(join(out, 'merged', 'results.json'), 'utf8')) as RunResults
    expect(validateResults(m)).toEqual([])
    const [w0, w1, wm] = [windows(s0), windows(s1), windows(m)]
    expect(wm.length).toBeGreaterThan(0)
    expect(wm.length).toBe(w0.length)
    wm.forEach((w, k) => {
      expect(responses(w)).toBe(responses(w0[k]!) + responses(w1[k]!)) // counts: the sum, exactly
      expect(w.serverRequests).toBe(responses(w)) // the coordinator's readings span every shard's load (a rendezvous at both ends)
      const union = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 })
      for (const x of [w0[k]!, w1[k]!]) union.add(hdr.decodeFromCompressedBase64(x.latencyHistogram!))
      expect(w.latencyMs.p99).toBe(union.getValueAtPercentile(99) / 1000) // the union's percentile, never an average
      expect(w.latencyMs.p50).toBe(union.getValueAtPercentile(50) / 1000)
      union.destroy()
      expect(w.shardStartSkewMs).toBeGreaterThanOrEqual(0)
    })
    const levels = (r: RunResults) => throughputRepeats(r)[0]!.levels.map((l) => l.connections)
    expect(levels(m)).toEqual(levels(s0).map((c, k) => c + levels(s1)[k]!)) // each level's connections, shared and summed
    expect(throughputRepeats(m)[0]!.loginCount).toBe(throughputRepeats(s0)[0]!.loginCount + throughputRepeats(s1)[0]!.loginCount)
    expect(m.merged).toMatchObject({ shards: 2, maxWindowStartSkewMs: Math.max(...wm.map((w) => w.shardStartSkewMs!)) })
    expect(m.options.shard).toBeNull()
    // the merged cell's servers counted exactly what the shards saw answered: no warning of the kind
    expect(m.cells.flatMap((c) => c.warnings).filter((w) => w.includes('request count differs'))).toEqual([])
  }, 120_000)

  it('refuses a rendezvous on the targets\' own Redis, in one line', async () => {
    const url = 'redis://127.0.0.1:1'
    const r = await run(['scripts/bench.ts', '--scenarios', 'throughput', '--strategies', 'jwt', '--connections', '2,10', '--target', 'http://127.0.0.1:1', '--shard', '0/2', '--run-id', 'x'],
      { AUTHBENCH_SECRET: SECRET, AUTHBENCH_RENDEZVOUS_URL: url, REDIS_URL: url })
    expect(r.code).toBe(2)
    expect(r.out.trim()).toMatch(/^authbench: --shard: AUTHBENCH_RENDEZVOUS_URL must be a Redis of its own, not REDIS_URL's/)
    expect(r.out.trim().split('\n')).toHaveLength(1)
  }, 30_000)

  it('refuses runs that are not the shards of one run, with the reason', () => {
    const fake = (index: number, runId = 'a', count = 2) => ({ options: { shard: { index, count }, runId }, cells: [], warnings: [], status: 'complete' }) as unknown as RunResults
    expect(() => mergeShardRuns([fake(0), fake(0)], SCENARIOS, [])).toThrow(MergeError)
    expect(() => mergeShardRuns([fake(0)], SCENARIOS, [])).toThrow(/shards 0 to 1, once each/)
    expect(() => mergeShardRuns([fake(0), fake(1, 'b')], SCENARIOS, [])).toThrow(/shards of different runs/)
    expect(() => mergeShardRuns([{ options: { shard: null } } as unknown as RunResults], SCENARIOS, [])).toThrow(/not a shard/)
  })
})
