import { describe, expect, it } from 'vitest'
import type { Cell, MetricsRepeat, RunResults } from '../harness/results/results.ts'
import { renderTerminal, TERMINAL_COLUMNS } from '../report/terminal.ts'
import { SCENARIOS } from '../scenarios/index.ts'
import { summarizeMetrics } from '../scenarios/common.ts'
import { validateResults } from './validate.ts'
import { readFixture } from './fixture.ts'

const fixture = readFixture('results-quick.json')

/** A completed hostile cell whose one repeat measured `metrics`. */
function hostileCell(strategy: string, profile: string, metrics: Record<string, number | null>): Cell {
  const repeat: MetricsRepeat = { kind: 'metrics', index: 0, startedAt: '2026-01-01T00:00:00.000Z', metrics, windows: [], notes: [] }
  return {
    id: `hostile/${strategy}/${profile}/HS256`, scenario: 'hostile', strategy, profile, alg: 'HS256', instances: 1,
    claims: ['c'], warnings: [], state: 'completed', repeats: [repeat], summary: summarizeMetrics([repeat]),
  }
}

const refusals = { fiveXxCount: 0, hostileAcceptedCount: 0, crashedInstances: 0, mixedRefusedShare: 0.195, cpuMicrosPerRefusal: 555, cpuMicrosPerAcceptance: 173, refusalCostRatio: 3.21, refusalsPerSec: 1005 }
const results: RunResults = {
  ...fixture,
  cells: [
    hostileCell('redis-session', 'defaults', { ...refusals, redisKeysPer1kAnonymousRequests: 1000, heapBytesPer1kAnonymousRequests: -3125 }),
    hostileCell('redis-session', 'tuned', { ...refusals, redisKeysPer1kAnonymousRequests: 0, heapBytesPer1kAnonymousRequests: 8060.8 }),
    hostileCell('memory-session', 'defaults', { ...refusals, redisKeysPer1kAnonymousRequests: null, heapBytesPer1kAnonymousRequests: 211726.4 }),
    { id: 'hostile/jwt/tuned/HS256', scenario: 'hostile', strategy: 'jwt', profile: 'tuned', alg: 'HS256', instances: 1, claims: ['c'], warnings: [], state: 'skipped', reason: 'not on this machine' },
  ],
}

const render = (r: RunResults) => renderTerminal({ results: r, scenarios: SCENARIOS })

describe('terminal summary of a metrics scenario', () => {
  it('shows the state each strategy creates per 1 000 anonymous requests under human headers, "–" where not applicable', () => {
    expect(validateResults(results)).toEqual([])
    const table = render(results)
    for (const part of ['Redis keys', 'anonymous', 'heap per 1k']) expect(table).toContain(part)
    expect(table).not.toContain('redisKeysPer1kAnonymousRequests')
    const row = (label: string) => table.split('\n').filter((l) => l.includes(label)).join(' ')
    expect(row('redis-session defaults')).toMatch(/│ 1,000 +│/)
    expect(row('redis-session tuned')).toMatch(/│ 0 +│/)
    expect(row('memory-session defaults')).toMatch(/│ – +│ 211,726 +│/)
    expect(table).toContain('jwt tuned HS256: skipped — not on this machine')
  })

  it('never grows wider than a 120-column terminal', () => {
    for (const line of render(results).split('\n')) expect([...line].length).toBeLessThanOrEqual(TERMINAL_COLUMNS)
  })

  it('prints counts as integers, not as 0.000', () => {
    expect(render(results)).not.toContain('0.000')
  })
})
