import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createGenerator } from 'ts-json-schema-generator'
import { describe, expect, it } from 'vitest'
import type { RunResults } from '../harness/results.ts'
import { estimate } from '../harness/stats.ts'
import { renderTerminal } from '../report/terminal.ts'
import { SCENARIOS } from '../scenarios/index.ts'
import { summarizeThroughput } from '../scenarios/throughput.ts'
import { validateResults } from './validate.ts'

const root = join(import.meta.dirname, '..')
const schema = JSON.parse(readFileSync(join(root, 'harness', 'results.schema.json'), 'utf8'))
const fixture = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'results-quick.json'), 'utf8')) as RunResults


describe('results.json schema', () => {
  it('is the one generated from the TypeScript types (run `npm run schema` after changing them)', () => {
    const generated = createGenerator({ path: join(root, 'harness', 'results.ts'), type: 'RunResults', tsconfig: join(root, 'tsconfig.json'), topRef: false }).createSchema('RunResults')
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

  it('brackets the median with order statistics, narrowing as n grows', () => {
    const xs = (n: number) => Array.from({ length: n }, (_, i) => 100 + ((i * 37) % n) - n / 2)
    const small = estimate(xs(20))!
    const large = estimate(xs(400))!
    for (const e of [small, large]) {
      expect(e.ci95![0]).toBeLessThanOrEqual(e.median)
      expect(e.ci95![1]).toBeGreaterThanOrEqual(e.median)
    }
    expect(large.ci95![1] - large.ci95![0]).toBeLessThan(0.25 * 400)
    expect(small.ci95![1] - small.ci95![0]).toBeLessThan(20)
    expect(estimate([10, 10, 10, 10, 10, 10])).toMatchObject({ median: 10, ci95: [10, 10], ciHalfWidthRel: 0, cv: 0 })
  })
})

describe('throughput summary', () => {
  it('is a pure function of the repeats: summarising the fixture again gives what it stored', () => {
    for (const cell of fixture.cells) {
      if (cell.state !== 'completed') continue
      expect(summarizeThroughput(cell.repeats)).toEqual(cell.summary)
    }
  })

  it('renders every cell in the terminal table', () => {
    const table = renderTerminal({ results: fixture, scenarios: SCENARIOS })
    for (const cell of fixture.cells) expect(table).toContain(cell.strategy)
  })
})
