/**
 * Target mode (`--target`): a run against servers the harness did not start. Its options say what the
 * targets run; cells that need processes the harness owns are skipped one by one with the reason;
 * a real server started here by hand, with its stats endpoint, is measured server-side; and a target
 * that does not answer, or a stats token it refuses, is said in one line before anything runs.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, expect, it, onTestFinished } from 'vitest'
import { freePort } from '../harness/processes/ports.ts'
import { serverBundle } from '../harness/processes/server-bundle.ts'
import { checkTargets, discoverStats, targetSet } from '../harness/processes/targets.ts'
import type { CpuPlacement } from '../harness/results/results.ts'
import { OptionError, resolveBenchOptions } from '../harness/run/options.ts'
import { listCells, targetSkipReason } from '../harness/run/plan.ts'
import { runSuite } from '../harness/run/run.ts'
import { SCENARIOS, SCENARIO_NAMES } from '../scenarios/index.ts'
import { validateResults } from './validate.ts'

const SECRET = 'target-mode-test-secret-0123456789'
const noPin: CpuPlacement = { method: 'none', generatorCpus: [], serverCpus: [], redisCpus: [], note: 'tests do not pin' }
const options = (o: Parameters<typeof resolveBenchOptions>[0]) => resolveBenchOptions({ pin: false, ...o }, SCENARIO_NAMES)

/** A jwt server started as a user would, with its stats endpoint; its URLs. */
async function startByHand(): Promise<{ url: string; stats: string }> {
  const child = spawn(process.execPath, [serverBundle(), '--strategy', 'jwt', '--port', '0', '--stats-port', '0'], { env: { ...process.env, AUTHBENCH_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'ignore'] })
  onTestFinished(() => { child.kill('SIGKILL') })
  const ready = await new Promise<{ port: number; statsPort: number }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => resolve(JSON.parse(line)))
  })
  return { url: `http://127.0.0.1:${ready.port}`, stats: `http://127.0.0.1:${ready.statsPort}` }
}

describe('target mode', () => {
  it('takes plain http(s) URLs and the one strategy, profile and algorithm the targets run', () => {
    expect(() => options({ targets: ['localhost:3000'], strategies: ['jwt'] })).toThrow(OptionError)
    expect(() => options({ targets: ['http://u:p@127.0.0.1:3000'], strategies: ['jwt'] })).toThrow(/without credentials/)
    expect(() => options({ targets: ['http://127.0.0.1:3000'] })).toThrow(/name the one strategy/)
    expect(() => options({ targets: ['http://127.0.0.1:3000'], strategies: ['jwt'], algs: ['HS256', 'RS256'] })).toThrow(/one algorithm/)
    expect(() => options({ targetStats: ['http://127.0.0.1:3001'] })).toThrow(/--target-stats needs --target/)
    expect(options({ targets: ['http://127.0.0.1:3000/'], strategies: ['jwt'] }).targets).toEqual(['http://127.0.0.1:3000'])
  })

  it('skips, cell by cell and with the reason, what needs processes the harness owns or servers the targets are not', () => {
    const o = options({ targets: ['http://127.0.0.1:3000'], strategies: ['jwt'] })
    const { run, skipped } = listCells(o, SCENARIOS, null)
    const why = new Map(skipped.map((s) => [s.id, s.reason]))
    // one URL, no stats: only throughput runs (what the generator sees); nothing else can be measured as asked
    expect(run.map((c) => c.plan.id)).toEqual(['throughput/jwt/tuned/HS256/x1'])
    for (const [id, reason] of why) expect(reason, id).toMatch(/^target mode: /)
    expect(why.get('failover/jwt/tuned/HS256/x2')).toMatch(/kills an instance/)
    expect(why.get('memory/jwt/tuned/HS256')).toMatch(/fresh servers/)
    expect(why.get('revocation/jwt/tuned/HS256/x2')).toMatch(/needs 2 instance URLs/)
    expect(why.get('login/jwt/tuned/HS256')).toMatch(/--stats-port/)
    expect(why.get('login/jwt/tuned/RS256')).toMatch(/needs servers running jwt tuned RS256; the targets run jwt tuned HS256/)
    const withStats = options({ targets: ['http://127.0.0.1:3000', 'http://127.0.0.1:3002'], targetStats: ['http://127.0.0.1:3001'], strategies: ['jwt'] })
    const throughput = SCENARIOS.find((s) => s.name === 'throughput')!
    const revocation = SCENARIOS.find((s) => s.name === 'revocation')!
    expect(targetSkipReason(throughput, throughput.plan(withStats)[0]!, withStats)).toBeUndefined()
    expect(targetSkipReason(revocation, revocation.plan(withStats)[0]!, withStats)).toBeUndefined()
  })

  it('measures a server started by hand from its stats endpoint, records the targets, and starts no process', async () => {
    const target = await startByHand()
    const before = process.env.AUTHBENCH_SECRET
    process.env.AUTHBENCH_SECRET = SECRET
    onTestFinished(() => { if (before === undefined) delete process.env.AUTHBENCH_SECRET; else process.env.AUTHBENCH_SECRET = before })
    const o = options({ quick: true, targets: [target.url], targetStats: [target.stats], strategies: ['jwt'], scenarios: ['throughput', 'failover'] })
    const runDir = mkdtempSync(join(tmpdir(), 'authbench-target-'))
    onTestFinished(() => rmSync(runDir, { recursive: true, force: true }))
    const results = await runSuite(o, { runDir, signal: new AbortController().signal, placement: noPin, command: ['test'], scenarios: SCENARIOS })
    expect(validateResults(results)).toEqual([])
    expect(results.options.targets).toEqual([target.url])
    expect(results.processes).toEqual([])
    const byId = new Map(results.cells.map((c) => [c.id, c]))
    const t = byId.get('throughput/jwt/tuned/HS256/x1')!
    expect(t.state).toBe('completed')
    const s = t.state === 'completed' && t.summary.kind === 'throughput' ? t.summary : null
    expect(s?.meCpuMicrosPerRequest?.median).toBeGreaterThan(0) // the server's own CPU, read over its stats endpoint
    expect(s?.meRequestBytes?.median).toBeGreaterThan(0) // bytes at its socket
    expect(byId.get('failover/jwt/tuned/HS256/x2')).toMatchObject({ state: 'skipped', reason: expect.stringMatching(/^target mode: /) })
  }, 120_000)

  it('finds every instance behind a name: dns+http:// stats URLs become one URL per address', async () => {
    expect(await discoverStats(['http://10.0.0.1:3001', 'dns+http://localhost:3201'])).toEqual(expect.arrayContaining(['http://10.0.0.1:3001', 'http://127.0.0.1:3201']))
    await expect(discoverStats(['dns+http://no-such-host.invalid:3001'])).rejects.toThrow(/ENOTFOUND/)
  })

  it('without stats endpoints, measures throughput from the generator side only and says so', async () => {
    const target = await startByHand()
    const o = options({ quick: true, targets: [target.url], strategies: ['jwt'], scenarios: ['throughput', 'login'] })
    const runDir = mkdtempSync(join(tmpdir(), 'authbench-target-'))
    onTestFinished(() => rmSync(runDir, { recursive: true, force: true }))
    const results = await runSuite(o, { runDir, signal: new AbortController().signal, placement: noPin, command: ['test'], scenarios: SCENARIOS })
    expect(validateResults(results)).toEqual([])
    const t = results.cells.find((c) => c.id === 'throughput/jwt/tuned/HS256/x1')!
    expect(t.state).toBe('completed')
    expect(t.warnings.join(' ')).toMatch(/generator-side figures only/)
    const s = t.state === 'completed' && t.summary.kind === 'throughput' ? t.summary : null
    expect(s?.meRequestsPerSec?.median).toBeGreaterThan(0) // what the generator counted
    expect(s?.meLatencyP99Ms?.median).toBeGreaterThan(0)
    expect([s?.cpuRatio, s?.meCpuMicrosPerRequest, s?.meRequestBytes]).toEqual([null, null, null]) // what only the servers can count: not guessed
    expect(results.cells.find((c) => c.id === 'login/jwt/tuned/HS256')).toMatchObject({ state: 'skipped', reason: expect.stringMatching(/--stats-port/) })
  }, 120_000)

  it('says in one line when a target does not answer, or refuses the stats token', async () => {
    const target = await startByHand()
    const nobody = `http://127.0.0.1:${await freePort()}`
    expect(await checkTargets(targetSet([nobody], [], {}))).toBe(`--target ${nobody} does not answer: connect ECONNREFUSED ${nobody.slice(7)}`)
    expect(await checkTargets(targetSet([target.url], [target.stats], { AUTHBENCH_SECRET: 'another-secret-0123456789' }))).toMatch(/refused the stats token \(401\)/)
    expect(await checkTargets(targetSet([target.url], [target.stats], { AUTHBENCH_SECRET: SECRET }))).toBeNull()
  }, 30_000)
})
