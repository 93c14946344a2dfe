/**
 * Verdict margins (report/verdict-margins.ts): the shift a margin names really flips its verdict and
 * no smaller shift of that reading does; only readings the host's noise moves are shifted; a fragile verdict is marked
 * in report.html, report.md and the terminal; compare lists the verdicts that changed.
 */
import { describe, expect, it } from 'vitest'
import type { Estimate } from '../harness/measure/stats.ts'
import type { RunResults } from '../harness/results/results.ts'
import { CLAIM_RULES } from '../report/claims.ts'
import { renderReport } from '../report/index.ts'
import { isMeasured, metricOf } from '../report/model.ts'
import { renderTerminal } from '../report/terminal.ts'
import { FRAGILE_SHIFT, SHIFTS, verdictChangeLines, verdictChanges, verdictsWithMargins } from '../report/verdict-margins.ts'
import { SCENARIOS } from '../scenarios/index.ts'
import { readFixture } from './fixture.ts'

const QUICK = readFixture('run-quick-all.json')

/** The run with every estimate of one (cell label, metric header) reading scaled by f, found by the margin's own description. */
function scaleReading(results: RunResults, cellId: string, metric: string, f: number): RunResults {
  const copy = structuredClone(results)
  const cell = copy.cells.find((c) => c.id === cellId)!
  const e = metricOf(cell, metric) as Estimate
  Object.assign(e, { median: e.median * f, min: e.min * f, max: e.max * f, ci95: e.ci95 ? [e.ci95[0] * f, e.ci95[1] * f].sort((a, b) => a - b) : null })
  return copy
}

describe('verdict margins', () => {
  it('name a shift that flips the verdict, and no smaller shift of that reading does', () => {
    const vs = verdictsWithMargins(QUICK)
    const withShift = vs.filter((v) => v.margin.shiftRel !== null)
    expect(withShift.length).toBeGreaterThan(0)
    for (const v of withShift) {
      const rule = CLAIM_RULES.find((r) => r(QUICK).id === v.id)!
      // find the cell and metric the margin names, by its description
      const cell = QUICK.cells.find((c) => isMeasured(c) && v.margin.reading!.startsWith(`${c.strategy} ${c.profile}`) && rule(QUICK).metrics.includes(c.scenario))
      expect(cell, v.margin.reading!).toBeDefined()
      const s = v.margin.shiftRel!
      const metrics = Object.keys((cell as { summary: { metrics?: object } }).summary.metrics ?? (cell as { summary: object }).summary)
      const flips = metrics.filter((m) => metricOf(cell!, m) && rule(scaleReading(QUICK, cell!.id, m, 1 + s)).verdict === v.margin.becomes)
      expect(flips.length, `${v.id}: ${v.margin.text}`).toBeGreaterThan(0)
      const smaller = SHIFTS.filter((x) => x < Math.abs(s))
      for (const m of flips) for (const x of smaller) expect(rule(scaleReading(QUICK, cell!.id, m, 1 + Math.sign(s) * x)).verdict).toBe(v.verdict)
      expect(v.margin.fragile).toBe(Math.abs(s) <= FRAGILE_SHIFT)
      expect(v.margin.text).toMatch(new RegExp(`^(fragile|margin): a [+−][\\d.]+ % shift of .+ would make it ${v.margin.becomes}$`))
    }
    for (const v of vs.filter((x) => x.margin.shiftRel === null && x.verdict !== 'not measured')) expect(v.margin.text).toMatch(/^holds: no single reading shifted by up to ±50 % changes it$/)
  })

  it('shift only what the host\'s noise moves: a share of 1, from one repeat or several, stays 1', () => {
    for (const n of [1, 3]) {
      const run = structuredClone(QUICK)
      const e = metricOf(run.cells.find((c) => c.scenario === 'revocation' && c.strategy === 'jwt' && isMeasured(c))!, 'revokeAllStillAcceptedShare') as Estimate
      Object.assign(e, { n, median: 1, min: 1, max: 1, ci95: [1, 1] })
      const revocation = verdictsWithMargins(run).find((v) => v.id === 'revocation')!
      expect(revocation.margin.reading ?? '', `n = ${n}`).not.toMatch(/accepted after revoke-all/)
    }
  })

  it('mark fragile verdicts in every report, and compare lists the verdicts that changed', async () => {
    const vs = verdictsWithMargins(QUICK)
    const fragile = vs.filter((v) => v.margin.fragile)
    expect(fragile.length).toBeGreaterThan(0)
    const { html, markdown } = await renderReport({ results: QUICK, scenarios: SCENARIOS })
    for (const v of fragile) {
      expect(html).toContain(`data-claim="${v.id}" data-fragile="true"`)
      expect(markdown).toContain(v.margin.text)
    }
    expect(renderTerminal({ results: QUICK, scenarios: SCENARIOS })).toMatch(/\(fragile\)/)
    const lines = verdictChangeLines(verdictChanges(vs, verdictsWithMargins(readFixture('run-contradicts.json'))))
    expect(lines).toHaveLength(8)
    expect(lines.find((l) => l.includes(fragile[0]!.claim))).toMatch(/\(fragile\) → refuted$/)
  })
})
