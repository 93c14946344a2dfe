/**
 * The reading side, on fixture runs: every claim rule (on a real quick run, and on a copy whose
 * data contradict the article), the tidy CSV, Markdown and terminal layouts, byte-for-byte
 * reproducibility, invariants, and compare over repeats (a run against itself; against a copy with
 * one cell 30 % dearer).
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Cell, RunResults, ThroughputRepeat, ThroughputSummary } from '../harness/results/results.ts'
import { CLAIM_RULES, clearlyLower, verdicts } from '../report/claims.ts'
import { compareRuns, perRepeat, regressions } from '../report/compare.ts'
import { agreementLines } from '../report/compare-render.ts'
import { welchP } from '../report/significance.ts'
import { CSV_COLUMNS, renderCsv } from '../report/csv.ts'
import { renderReport, writeReport } from '../report/index.ts'
import { renderMarkdown } from '../report/markdown.ts'
import { invariantViolations, isMeasured, mechanismsOf, mechanismTable, metricNames } from '../report/model.ts'
import { renderTerminal, TERMINAL_COLUMNS } from '../report/terminal.ts'
import { SCENARIOS } from '../scenarios/index.ts'
import { readFixture } from './fixture.ts'

const fixture = readFixture
const QUICK = fixture('run-quick-all.json')
const CONTRA = fixture('run-contradicts.json')
const THREE = fixture('run-throughput-5-repeats.json')
const input = (results: RunResults) => ({ results, scenarios: SCENARIOS })
const byId = (results: RunResults) => Object.fromEntries(verdicts(results).map((v) => [v.id, v]))

describe('claim verdicts', () => {
  it('gives every claim of the article a verdict from a run that measured all of them', () => {
    const vs = verdicts(QUICK)
    expect(vs).toHaveLength(CLAIM_RULES.length)
    for (const v of vs) {
      expect(v.verdict, v.id).not.toBe('not measured')
      expect(v.values.length, v.id).toBeGreaterThan(0)
      expect(v.condition.length, v.id).toBeGreaterThan(10)
    }
  })

  it('finds what this machine measured: larger JWTs, logout easy for sessions, a store needed to scale sessions out', () => {
    const v = byId(QUICK)
    expect(v['token-size']!.verdict).toBe('supported')
    expect(v['token-size']!.condition).toMatch(/\+\d+ B per request with small claims/)
    expect(v.logout!.verdict).toBe('supported')
    expect(v['shared-store']!.verdict).toBe('supported')
    expect(v['server-memory']!.verdict).toBe('supported')
  })

  it('shows a refuted claim as refuted when the data contradict the article', () => {
    const v = byId(CONTRA)
    for (const id of ['scalability', 'logout', 'token-size', 'server-memory', 'shared-store', 'revocation', 'stateless', 'hybrids']) {
      expect(v[id]!.verdict, id).toBe('refuted')
    }
  })

  it('says "not measured" — never guesses — when the cells a claim needs are missing', () => {
    const onlyThroughput = { ...QUICK, cells: QUICK.cells.filter((c) => c.scenario === 'throughput') }
    const v = byId(onlyThroughput)
    for (const id of ['logout', 'token-size', 'server-memory', 'shared-store', 'revocation', 'stateless', 'hybrids']) {
      expect(v[id]!.verdict, id).toBe('not measured')
      expect(v[id]!.values).toEqual([])
    }
    expect(v.scalability!.verdict).not.toBe('not measured')
    const noCells = byId({ ...QUICK, cells: [] })
    expect(Object.values(noCells).every((x) => x.verdict === 'not measured')).toBe(true)
  })

  it('calls a difference clear only when the CIs are apart (or, without CIs, the medians 10 % apart)', () => {
    const e = (median: number, ci: [number, number] | null) => ({ n: 9, median, ci95: ci, ciHalfWidthRel: null, cv: null, min: median, max: median })
    expect(clearlyLower(e(1, [0.9, 1.1]), e(2, [1.8, 2.2]))).toBe(true)
    expect(clearlyLower(e(1, [0.9, 1.9]), e(2, [1.8, 2.2]))).toBe(false)
    expect(clearlyLower(e(1, null), e(1.05, null))).toBe(false)
    expect(clearlyLower(e(1, null), e(1.2, null))).toBe(true)
    expect(clearlyLower(e(2, null), e(1, null))).toBe(false)
  })
})

describe('report files', () => {
  it('renders the same bytes from the same results.json', async () => {
    const a = await renderReport(input(QUICK))
    const b = await renderReport(input(structuredClone(QUICK)))
    expect(a.html).toBe(b.html)
    expect(a.markdown).toBe(b.markdown)
    expect(a.csv).toBe(b.csv)
    const dir = mkdtempSync(join(tmpdir(), 'authbench-report-'))
    copyFileSync(join(import.meta.dirname, 'fixtures', 'run-quick-all.json'), join(dir, 'results.json'))
    const first = await writeReport(dir, SCENARIOS)
    const html1 = readFileSync(first.html, 'utf8')
    await writeReport(dir, SCENARIOS)
    expect(readFileSync(first.html, 'utf8')).toBe(html1)
    expect(html1).toBe(a.html)
  })

  it('writes a self-contained HTML page: no script, no external resource, one SVG chart per declared chart', async () => {
    const { html } = await renderReport(input(QUICK))
    expect(html).not.toMatch(/<script|<link |src="http|href="http/i)
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(new Set(QUICK.cells.map((c) => c.scenario)).size)
    const order = ['id="claims"', 'data-scenario="throughput"', 'data-scenario="hostile"', 'id="method"', 'href="results.csv"']
    const at = order.map((s) => html.indexOf(s))
    expect(at.every((i) => i >= 0)).toBe(true)
    expect([...at].sort((x, y) => x - y)).toEqual(at)
  })

  it('writes tidy CSV: one row per cell × metric, with units and CIs', () => {
    const csv = renderCsv(input(THREE)).trimEnd().split('\n')
    expect(csv[0]).toBe(CSV_COLUMNS.join(','))
    const expected = THREE.cells.filter(isMeasured).reduce((n, c) => n + metricNames(c, SCENARIOS[0]).filter((m) => {
      const s = c.summary as unknown as Record<string, unknown>
      return s[m] !== null
    }).length, 0)
    expect(csv.length - 1).toBe(expected)
    const ratio = csv.find((l) => l.startsWith('throughput,jwt,tuned,HS256,1,cpuRatio,ratio,'))!.split(',')
    expect(Number(ratio[7])).toBeGreaterThan(1)
    expect(Number(ratio[8])).toBeLessThanOrEqual(Number(ratio[7]))
    expect(Number(ratio[9])).toBeGreaterThanOrEqual(Number(ratio[7]))
    expect(Number(ratio[10])).toBeGreaterThanOrEqual(10) // pairs of 5 repeats
  })

  it('keeps every Markdown table within 8 columns, with units in the headers', () => {
    const md = renderMarkdown(input(QUICK))
    const tables = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---'))
    for (const line of tables) expect(line.split(/(?<!\\)\|/).length - 2, line).toBeLessThanOrEqual(8)
    expect(md).toMatch(/\| cell \| CPU \/me ÷ \/health \(ratio\) \|/)
    expect(md).not.toMatch(/credentialMegabytesPerSecAt10kRps/)
  })

  it('fits the terminal summary in 120 columns, verdicts first, with human headers', () => {
    const text = renderTerminal(input(QUICK), { html: 'r/report.html', markdown: 'r/report.md', csv: 'r/results.csv' })
    const widest = Math.max(...text.split('\n').map((l) => [...l].length))
    expect(widest).toBeLessThanOrEqual(TERMINAL_COLUMNS)
    expect(text.indexOf('The article\'s claims')).toBe(0)
    expect(text).toContain('r/report.html')
    expect(text).not.toMatch(/[a-z]+[A-Z][a-z]+PerRequest/) // no metric identifiers as headers
  })

  it('finds a violated invariant (a 5xx under hostile input)', () => {
    const bad = structuredClone(QUICK)
    const cell = bad.cells.find((c) => c.scenario === 'hostile' && isMeasured(c))!
    const hostile = SCENARIOS.find((s) => s.name === 'hostile')
    expect(invariantViolations(cell, hostile)).toEqual([])
    if (cell.state === 'completed' && cell.summary.kind === 'metrics') cell.summary.metrics.fiveXxCount = { n: 1, median: 3, ci95: null, ciHalfWidthRel: null, cv: null, min: 3, max: 3 }
    expect(invariantViolations(cell, hostile)).toHaveLength(1)
  })
})

/** A copy of a run in which one throughput cell's /me CPU per request is `factor` times higher in every window. */
function dearer(results: RunResults, cellId: string, factor: number): RunResults {
  const copy = structuredClone(results)
  for (const c of copy.cells) {
    if (c.id !== cellId || !isMeasured(c)) continue
    for (const r of c.repeats) {
      if (r.kind !== 'throughput') continue
      for (const p of r.pairs) {
        p.me.serverCpuMicrosPerRequest = p.me.serverCpuMicrosPerRequest! * factor
        p.cpuRatio = p.me.serverCpuMicrosPerRequest / p.health.serverCpuMicrosPerRequest!
      }
    }
  }
  return copy
}

describe('compare', () => {
  const target = 'throughput/jwt/tuned/HS256/x1'

  it('takes one value per repeat, never the windows inside a repeat', () => {
    const cell = THREE.cells.find((c) => c.id === target)!
    expect(isMeasured(cell)).toBe(true)
    const values = perRepeat((cell as Extract<typeof cell, { repeats: unknown }>).repeats, 'cpuRatio')
    expect(values).toHaveLength(5)
  })

  it('finds no significant change when a run is compared with itself', () => {
    const c = compareRuns(THREE, structuredClone(THREE), SCENARIOS)
    expect(c.changes.length).toBeGreaterThan(0)
    expect(c.changes.filter((x) => x.significant)).toEqual([])
    expect(regressions(c, 0)).toEqual([])
    expect(c.warnings).toEqual([])
    // every throughput ratio inside the other run's CI, and the line says so with the expectation
    expect(c.ratioAgreement.length).toBeGreaterThan(0)
    expect(c.ratioAgreement.every((a) => a.agree)).toBe(true)
    expect(agreementLines(c).join('\n')).toMatch(new RegExp(`^throughput CPU ratios, every level: ${c.ratioAgreement.length} of ${c.ratioAgreement.length} medians inside each other's 95 % CI[^\n]*\n[^\n]*about 83 %`))
  })

  it('flags the one cell made 30 % dearer, and only that one', () => {
    const c = compareRuns(THREE, dearer(THREE, target, 1.3), SCENARIOS)
    const worse = regressions(c, 10)
    expect(worse.length).toBeGreaterThan(0)
    expect(new Set(worse.map((w) => w.cellId))).toEqual(new Set([target]))
    // the ratio (measured in alternating windows) carries the change through the machine's noise;
    // absolute CPU per request moved by the same 30 %, whether or not that clears its noisier repeats
    const ratio = c.changes.find((x) => x.cellId === target && x.metric === 'cpuRatio')!
    expect(ratio.changeRel).toBeCloseTo(0.3, 5)
    expect(ratio.worse).toBe(true)
    expect(c.changes.find((x) => x.cellId === target && x.metric === 'meCpuMicrosPerRequest')!.changeRel).toBeCloseTo(0.3, 5)
    // the ratio agreement, summarised afresh from the repeats, names that cell and no other
    const off = c.ratioAgreement.filter((a) => !a.agree)
    expect(off.map((a) => a.cellId)).toEqual([target])
    expect(off[0]!.candidate.median / off[0]!.baseline.median).toBeCloseTo(1.3, 5)
    expect(agreementLines(c).at(-1)).toMatch(/^not inside: jwt\b/)
  })

  it('computes Welch p-values that shrink with the effect', () => {
    expect(welchP([1, 2, 3], [1, 2, 3])).toBeCloseTo(1, 9)
    expect(welchP([1], [2, 3])).toBeNull()
    const small = welchP([10, 11, 12], [10.5, 11.5, 12.5])!
    const large = welchP([10, 11, 12], [20, 21, 22])!
    expect(large).toBeLessThan(0.001)
    expect(small).toBeGreaterThan(0.3)
  })

  it('compares a cell at one concurrency level in both runs, even when their headline levels differ', () => {
    // two levels per repeat, 10 connections 30 % dearer than 1; the baseline's headline is 1, the candidate's 10
    const withLevels = (headline: number) => {
      const run = structuredClone(THREE)
      const cell = run.cells.find((c) => c.id === target) as Extract<Cell, { state: 'completed' }>
      for (const r of cell.repeats as ThroughputRepeat[]) {
        const dear = r.pairs.map((p) => ({ ...p, cpuRatio: p.cpuRatio === null ? null : p.cpuRatio * 1.3 }))
        r.levels = [{ connections: 1, pairs: r.pairs }, { connections: 10, pairs: dear }]
      }
      ;(cell.summary as ThroughputSummary).headlineConnections = headline
      return run
    }
    const c = compareRuns(withLevels(1), withLevels(10), SCENARIOS)
    expect(c.warnings.join('\n')).toMatch(/headline levels differ \(baseline 1 connections, candidate 10\): both compared at 10 connections/)
    const ratio = c.changes.find((x) => x.cellId === target && x.metric === 'cpuRatio')!
    expect(ratio.changeRel).toBeCloseTo(0, 9) // the same data at 10 connections in both: no change, not the +30 % between levels
    const missing = withLevels(1)
    for (const r of (missing.cells.find((x) => x.id === target) as Extract<Cell, { state: 'completed' }>).repeats as ThroughputRepeat[]) r.levels = r.levels!.slice(0, 1)
    const skipped = compareRuns(missing, withLevels(10), SCENARIOS)
    expect(skipped.warnings.join('\n')).toMatch(/not compared — its headline level is 10 connections in the candidate and 1 in the baseline/)
    expect(skipped.changes.some((x) => x.cellId === target)).toBe(false)
  })

  it('warns when the runs come from different machines, Node or package versions', () => {
    const other = structuredClone(THREE)
    other.machine = { ...other.machine, hostname: 'elsewhere', node: 'v22.0.0' }
    other.packages = { ...other.packages, fastify: '0.0.1' }
    const w = compareRuns(THREE, other, SCENARIOS).warnings.join('\n')
    expect(w).toMatch(/different machines/)
    expect(w).toMatch(/different Node versions/)
    expect(w).toMatch(/fastify/)
  })

  it('exits 0 for a run against itself and 1 with --fail-on-regression 10 against a 30 % dearer copy', () => {
    const root = mkdtempSync(join(tmpdir(), 'authbench-compare-'))
    const dirs = ['base', 'same', 'dearer'].map((d) => join(root, d))
    dirs.forEach((d) => mkdirSync(d))
    writeFileSync(join(dirs[0]!, 'results.json'), JSON.stringify(THREE))
    writeFileSync(join(dirs[1]!, 'results.json'), JSON.stringify(THREE))
    writeFileSync(join(dirs[2]!, 'results.json'), JSON.stringify(dearer(THREE, target, 1.3)))
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/compare.ts', ...args], { encoding: 'utf8', cwd: join(import.meta.dirname, '..') })
    const same = run(dirs[0]!, dirs[1]!, '--fail-on-regression', '10')
    expect(same.status, same.stderr).toBe(0)
    expect(same.stdout).toMatch(/0 significant after the false discovery rate/)
    expect(Math.max(...same.stdout.split('\n').map((l) => [...l].length))).toBeLessThanOrEqual(120)
    const worse = run(dirs[0]!, dirs[2]!, '--fail-on-regression', '10')
    expect(worse.status).toBe(1)
    expect(worse.stdout).toMatch(/WORSE/)
    expect(readFileSync(join(dirs[2]!, 'compare.md'), 'utf8')).toMatch(/WORSE/)
    const bad = run(dirs[0]!, join(root, 'missing'))
    expect(bad.status).toBe(2)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
  })
})

describe('mechanism cost beside each throughput cell', () => {
  const item = (name: string, nsPerOp: number) => ({ name, what: name, nsPerOp, ciHalfWidthRel: 0.02, samples: 100, batch: 10 })
  const mechanisms = {
    cpus: '1', node: 'v20', skipped: [{ name: 'redis-get', reason: 'no Redis in this run' }],
    items: [item('session-id-map-lookup', 80), item('session-signed-id-check', 3000), item('jwt-verify-HS256-uncached', 6000), item('jwt-verify-HS256-hash-keyed-cache-hit', 2300), item('secure-session-decrypt', 2200)],
  }

  it('maps each strategy × profile × cache regime to the loops its check is made of', () => {
    expect(mechanismsOf('memory-session', 'floor', 'HS256', null).names).toEqual(['session-id-map-lookup'])
    expect(mechanismsOf('memory-session', 'tuned', 'HS256', null).names).toEqual(['session-signed-id-check'])
    expect(mechanismsOf('redis-session', 'floor', 'HS256', null).names).toEqual(['redis-get'])
    expect(mechanismsOf('jwt', 'floor', 'HS256', 'hit-dominated').names).toEqual(['jwt-verify-HS256-cached-hit'])
    expect(mechanismsOf('jwt', 'floor', 'HS256', 'miss-dominated').names).toEqual(['jwt-verify-HS256-cached-miss'])
    expect(mechanismsOf('jwt', 'tuned', 'HS256', 'hit-dominated').names).toEqual(['jwt-verify-HS256-hash-keyed-cache-hit'])
    expect(mechanismsOf('jwt', 'defaults', 'ES256', null).names).toEqual(['jwt-verify-ES256-uncached'])
    expect(mechanismsOf('jwt-denylist', 'defaults', 'HS256', null).names).toEqual(['jwt-verify-HS256-uncached', 'redis-get'])
    expect(mechanismsOf('jwt', 'tuned', 'RS256', 'hit-dominated')).toEqual({ names: ['jwt-verify-RS256-uncached'], approximate: true })
  })

  it('puts (/me − /health) CPU per request beside the loop cost, and says what it could not pair', () => {
    const run = { ...QUICK, mechanisms }
    const t = mechanismTable({ results: run, scenarios: SCENARIOS })
    const cells = QUICK.cells.filter((c) => c.scenario === 'throughput' && isMeasured(c))
    expect(t.rows).toHaveLength(cells.length)
    const ms = cells.find((c) => c.strategy === 'memory-session')!
    const s = (ms as { summary: unknown }).summary as { meCpuMicrosPerRequest: { median: number }; healthCpuMicrosPerRequest: { median: number } }
    const overhead = s.meCpuMicrosPerRequest.median - s.healthCpuMicrosPerRequest.median
    const row = t.rows.find((r) => r[2] === 'session-signed-id-check')!
    expect(Number(row[1])).toBeCloseTo(overhead, 0)
    expect(row[3]).toBe('3')
    expect(Number(row[4]!.replace('×', ''))).toBeCloseTo(overhead / 3, 0)
    expect(t.rows.find((r) => r[2]!.includes('redis-get'))?.[3]).toBe('–') // redis-session: no Redis loop in this run
    expect(t.notes.join('\n')).toMatch(/not measured: redis-get — no Redis in this run/)
    expect(renderMarkdown({ results: run, scenarios: SCENARIOS })).toContain('## Mechanism cost: in a loop, and in the server')
    expect(mechanismTable({ results: QUICK, scenarios: SCENARIOS }).rows).toEqual([]) // a run without loops: no section
  })
})
