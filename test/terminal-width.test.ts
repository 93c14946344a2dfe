/**
 * What a person reads in the terminal fits it: the end-of-run summary of every committed fixture and
 * `npm run compare`'s output stay within 120 columns, and no warning sentence is printed twice (the
 * same warning for several cells is printed once, with the cells it applies to).
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { groupByNumberTemplate, groupedWarnings, renderTerminal, TERMINAL_COLUMNS } from '../report/terminal.ts'
import { SCENARIOS } from '../scenarios/index.ts'
import { fixturePath, readFixture } from './fixture.ts'

const ROOT = join(import.meta.dirname, '..')
const FIXTURES = ['run-quick-all.json', 'run-contradicts.json', 'run-throughput-5-repeats.json', 'results-quick.json', 'run-quick-v2.json', 'run-quick-v3.json']
const fixture = readFixture

const overWide = (text: string) => text.split('\n').filter((l) => [...l].length > TERMINAL_COLUMNS)
/** Warning lines (`! …`) that occur more than once. */
const repeatedWarnings = (text: string) => {
  const seen = text.split('\n').filter((l) => l.startsWith('! '))
  return seen.filter((l, i) => seen.indexOf(l) !== i)
}

describe('the terminal', () => {
  it.each(FIXTURES)('summary of %s: every line within 120 columns, no warning printed twice', (name) => {
    const text = renderTerminal({ results: fixture(name), scenarios: SCENARIOS }, { html: 'a/report.html', markdown: 'a/report.md', csv: 'a/results.csv' })
    expect(overWide(text)).toEqual([])
    expect(repeatedWarnings(text)).toEqual([])
  })

  it('merges a warning that differs between cells only in its numbers, each differing number as a range', () => {
    const cells = [['a', 75], ['b', 39], ['c', 96]].map(([id, cv]) => ({ id: `t/${id}`, warnings: [`requests/s varies a lot (CV ${cv} %): ≥ 90 % of 1,200 windows`] }))
    const lines = groupedWarnings(cells, []).join('\n').split('\n')
    expect(lines).toEqual(['! requests/s varies a lot (CV 39–96 %): ≥ 90 % of 1,200 windows', '    3 cells: t/a, t/b, t/c'])
    expect(groupByNumberTemplate([{ text: 'a 1 b', id: 'x' }, { text: 'a 2 c', id: 'y' }])).toHaveLength(2) // different words: kept apart
  })

  it('prints a warning given for several cells once, followed by those cells', () => {
    const cells = ['a', 'b', 'c'].map((id) => ({ id: `throughput/${id}`, warnings: ['the same sentence', `only ${id}`] }))
    const lines = groupedWarnings(cells, ['run-wide', 'run-wide']).join('\n').split('\n')
    expect(lines.filter((l) => l === '! the same sentence')).toHaveLength(1)
    expect(lines).toContain('    3 cells: throughput/a, throughput/b, throughput/c')
    expect(lines).toContain('    cell: throughput/b')
    expect(lines.filter((l) => l === '! run-wide')).toHaveLength(1)
  })

  it.each([['run-throughput-5-repeats.json', 'run-throughput-5-repeats.json'], ['run-quick-all.json', 'run-contradicts.json'], ['run-quick-all.json', 'run-quick-v2.json']])('npm run compare %s %s: every line within 120 columns', (a, b) => {
    const [base, cand] = [mkdtempSync(join(tmpdir(), 'authbench-cmp-')), mkdtempSync(join(tmpdir(), 'authbench-cmp-'))]
    onTestFinished(() => { for (const d of [base, cand]) rmSync(d, { recursive: true, force: true }) })
    copyFileSync(fixturePath(a), join(base, 'results.json'))
    copyFileSync(fixturePath(b), join(cand, 'results.json'))
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/compare.ts', base, cand], { cwd: ROOT, encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout.split('\n').length).toBeGreaterThan(3)
    expect(overWide(r.stdout)).toEqual([])
    expect(overWide(r.stderr)).toEqual([])
  })
})
