import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createGenerator } from 'ts-json-schema-generator'
import { describe, expect, it } from 'vitest'
import type { ThroughputRepeat, WindowMeasurement, WindowPair } from '../harness/results/results.ts'
import { estimate } from '../harness/measure/stats.ts'
import { renderTerminal } from '../report/terminal.ts'
import { SCENARIOS } from '../scenarios/index.ts'
import { summarizeThroughput } from '../scenarios/throughput.ts'
import { validateResults } from './validate.ts'
import { readFixture } from './fixture.ts'

const root = join(import.meta.dirname, '..')
const schema = JSON.parse(readFileSync(join(root, 'harness', 'results', 'results.schema.json'), 'utf8'))
const fixture = readFixture('results-quick.json')

describe('results.json schema', () => {
  it('is the one generated from the TypeScript types (run `npm run schema` after changing them)', () => {
    const generated = createGenerator({ path: join(root, 'harness', 'results', 'results.ts'), type: 'RunResults', tsconfig: join(root, 'tsconfig.json'), topRef: false }).createSchema('RunResults')
    expect(JSON.parse(JSON.stringify(generated))).toEqual(schema)
  })

  it('accepts a real run and rejects a cell that carries zeros instead of saying why it failed', () => {
    expect(validateResults(fixture)).toEqual([])
    const broken = structuredClone(fixture) as unknown as { cells: Array<Record<string, unknown>> }
    broken.cells[0] = { ...broken.cells[0], state: 'failed' }
    expect(validateResults(broken).length).toBeGreaterThan(0)
  })
})

describe('statistics', () => {
  it('gives no confidence interval for fewer than six observations', () => {
    expect(estimate([1, 2, 3])).toMatchObject({ n: 3, median: 2, ci95: null, ciHalfWidthRel: null })
    expect(estimate([])).toBeNull()
  })

  it('brackets the median with order statistics, and narrows as n grows from the same distribution', () => {
    // n evenly spread draws from one distribution (uniform on 90…110, in a scrambled order): only n differs
    const draws = (n: number) => Array.from({ length: n }, (_, i) => 90 + 20 * ((i * 0.6180339887) % 1))
    const small = estimate(draws(20))!
    const large = estimate(draws(400))!
    const width = (e: typeof small) => e.ci95![1] - e.ci95![0]
    for (const e of [small, large]) {
      expect(e.median).toBeCloseTo(100, 0)
      expect(e.ci95![0]).toBeLessThan(e.median)
      expect(e.ci95![1]).toBeGreaterThan(e.median)
    }
    // a CI of the median shrinks like 1/√n: 20× the data, about 4.5× narrower
    expect(width(large)).toBeLessThan(width(small) / 3)
    expect(width(large)).toBeGreaterThan(width(small) / 8)
    expect(estimate([10, 10, 10, 10, 10, 10])).toMatchObject({ median: 10, ci95: [10, 10], ciHalfWidthRel: 0, cv: 0 })
  })

  it('picks order statistics that cover the median with at least 95 % probability, and not much more', () => {
    // With observations 1…n the interval's ends are their own ranks j and k; the median of the
    // population lies in [X(j), X(k)] exactly when j ≤ B < k, B ~ binomial(n, ½) (distribution-free).
    const binomialCdf = (n: number, upTo: number) => {
      let p = 0
      let term = 0.5 ** n
      for (let i = 0; i <= upTo; i++) { p += term; term = (term * (n - i)) / (i + 1) }
      return p
    }
    for (let n = 6; n <= 400; n++) {
      const [j, k] = estimate(Array.from({ length: n }, (_, i) => i + 1))!.ci95!
      const coverage = binomialCdf(n, k - 1) - binomialCdf(n, j - 1)
      expect(coverage, `n = ${n}: ranks ${j}…${k}`).toBeGreaterThanOrEqual(0.95)
      if (n >= 30) expect(coverage, `n = ${n}: ranks ${j}…${k}`).toBeLessThanOrEqual(0.99)
    }
  })
})

/** One measured window with plausible numbers; `over` sets what a test is about. */
function win(path: string, over: Partial<WindowMeasurement> = {}): WindowMeasurement {
  return {
    path, durationSec: 1, loadDurationSec: 1, statusCodes: { 200: 100 }, non2xx: 0, errors: 0, serverRequests: 100, requestsPerSec: 100,
    connectionsPerRequest: 0, latencyMs: { p50: 1, p90: 2, p99: 3, p999: 4, max: 5, mean: 1.5 },
    serverCpuMicrosPerRequest: 100, requestBytesPerRequest: 160, responseBytesPerRequest: 200,
    redisCommandsPerRequest: null, redisCpuMicrosPerRequest: null, generatorCpuShare: 0.5, generatorSaturated: false, latencyHistogram: null, loadStartedAtEpochMs: null, ...over,
  }
}
const pair = (cpuRatio: number | null, me: Partial<WindowMeasurement> = {}, health: Partial<WindowMeasurement> = {}): WindowPair =>
  ({ me: win('/me', me), health: win('/hc', health), cpuRatio })
function repeat(index: number, pairs: WindowPair[], meRequestBytes: number | null = 160): ThroughputRepeat {
  return {
    kind: 'throughput', index, startedAt: '2026-01-01T00:00:00.000Z', loginCount: 10, pairs, memoryAfter: [], redisUsedMemoryBytes: null,
    // one level whose connections are not recorded, as a run from before the sweep reads once migrated
    generator: 'autocannon', levels: [], headlineConnections: null, verifyCacheRegime: null, populationLoggedIn: true,
    bytes: { requestsPerPath: 10, meRequestBytes, meResponseBytes: 200, healthRequestBytes: meRequestBytes, healthResponseBytes: 200 },
  }
}

describe('throughput summary', () => {
  it('reproduces what the fixture run stored for each of its completed throughput cells', () => {
    const cells = fixture.cells.filter((c) => c.state === 'completed' && c.summary.kind === 'throughput')
    expect(cells.length).toBeGreaterThan(0) // else this test would check nothing
    for (const cell of cells) {
      if (cell.state !== 'completed') continue
      expect(summarizeThroughput(cell.repeats), cell.id).toEqual(cell.summary)
    }
  })

  it('takes the median of the ratios, leaving out pairs without one rather than counting them as 0', () => {
    const s = summarizeThroughput([repeat(0, [pair(2), pair(null), pair(4), pair(3)])])
    expect(s.cpuRatio?.median).toBe(3)
    expect(s.cpuRatio?.min).toBe(2)
    expect(summarizeThroughput([repeat(0, [pair(null), pair(null)])]).cpuRatio).toBeNull()
  })

  it('counts every failed request and saturated window, and flags request bytes that changed between repeats', () => {
    const failing = [
      repeat(0, [pair(2, { non2xx: 3, errors: 1 }, { non2xx: 2 })], 253),
      repeat(1, [pair(2, {}, { errors: 4, generatorSaturated: true })], 254),
    ]
    const s = summarizeThroughput(failing)
    expect(s).toMatchObject({ non2xx: 5, errors: 5, saturatedWindowShare: 0.25, requestBytesStable: false })
    expect(s.meRequestBytes).toMatchObject({ min: 253, max: 254 })
    expect(summarizeThroughput([repeat(0, [pair(2)]), repeat(1, [pair(2)])])).toMatchObject({ non2xx: 0, errors: 0, saturatedWindowShare: 0, requestBytesStable: true })
  })

  it('renders every cell in the terminal table, on its own row with its CPU ratio', () => {
    const table = renderTerminal({ results: fixture, scenarios: SCENARIOS }).split('\n')
    for (const cell of fixture.cells) {
      if (cell.state !== 'completed' || cell.summary.kind !== 'throughput') throw new Error(`the fixture's ${cell.id} is not a completed throughput cell`)
      const row = table.find((l) => l.startsWith(`│ ${cell.strategy} ${cell.profile}`))
      expect(row, cell.id).toBeDefined()
      expect(row).toContain(cell.summary.cpuRatio!.median.toPrecision(3))
    }
  })
})
