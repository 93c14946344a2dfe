/**
 * history.html: a results folder of copies of a committed run — a little jitter in each, one cell's
 * /me CPU made 30 % dearer from the fourth run on, another cell 60 % dearer in one run only, and one
 * run on another host — gives one change point, exactly where the step was planted (not on either side
 * of the one-run excursion), keeps the other host's run apart and says why, writes the same bytes on repeat, and
 * opens offline in real Chromium with a chart in every section.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { hasChromium, openOffline, skippedNote } from './browser.ts'
import type { RunResults } from '../harness/results/results.ts'
import { compareRuns } from '../report/compare.ts'
import { buildHistory, type HistoryRun } from '../report/history.ts'
import { isMeasured } from '../report/model.ts'
import { SCENARIOS } from '../scenarios/index.ts'
import { fixturePath, readFixture } from './fixture.ts'

const ROOT = join(import.meta.dirname, '..')
const FIXTURE = 'run-throughput-5-repeats.json'
const BASE = readFixture(FIXTURE)
const STEPPED = 'throughput/jwt/tuned/HS256/x1'
const EXCURSION = 'throughput/memory-session/tuned/HS256/x1'
/** The run (0-based) from which STEPPED is dearer, and the one run in which EXCURSION is. */
const STEP_AT = 3
const EXCURSION_AT = 1
/** Each run's own small drift of every cell's /me CPU: weather, not a change. */
const JITTER = [1, 0.98, 1.02, 0.99, 1.01, 0.985]

/**
 * A copy of the fixture started `day` days later, every cell's /me CPU per request (and so its CPU ratio)
 * times its factor, in every pair of every level, and each cell summarised afresh from its repeats.
 */
function variant(day: number, factors: Record<string, number>, machine: Partial<RunResults['machine']> = {}): RunResults {
  const r = structuredClone(BASE)
  r.startedAt = new Date(Date.parse(BASE.startedAt) + day * 86_400_000).toISOString()
  r.gitSha = `${String(Math.round(day * 10)).padStart(3, '0')}${BASE.gitSha!.slice(3)}`
  r.machine = { ...r.machine, ...machine }
  const throughput = SCENARIOS.find((s) => s.name === 'throughput')!
  for (const c of r.cells) {
    if (!isMeasured(c)) continue
    for (const rep of c.repeats) {
      if (rep.kind !== 'throughput') continue
      for (const p of [...rep.pairs, ...rep.levels.flatMap((l) => l.pairs)]) {
        p.me.serverCpuMicrosPerRequest = p.me.serverCpuMicrosPerRequest! * (factors[c.id] ?? 1)
        p.cpuRatio = p.me.serverCpuMicrosPerRequest / p.health.serverCpuMicrosPerRequest!
      }
    }
    c.summary = throughput.summarize(c.repeats)
  }
  return r
}

/** Six runs on the fixture's host (the first the committed file itself, through the migration) and one on another. */
function plantedRuns(): HistoryRun[] {
  const runs = JITTER.map((j, day) => ({
    dir: `run-${day}`,
    results: day === 0 ? BASE : variant(day, { [STEPPED]: j * (day >= STEP_AT ? 1.3 : 1), [EXCURSION]: j * (day === EXCURSION_AT ? 1.6 : 1) }),
  }))
  return [...runs, { dir: 'run-elsewhere', results: variant(2.5, {}, { hostname: 'other-host', cores: 8 }) }]
}

/** A results folder holding the planted runs, the first as the committed (version 1) file. */
function resultsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'authbench-history-'))
  for (const r of plantedRuns()) {
    mkdirSync(join(dir, r.dir))
    if (r.results === BASE) copyFileSync(fixturePath(FIXTURE), join(dir, r.dir, 'results.json'))
    else writeFileSync(join(dir, r.dir, 'results.json'), JSON.stringify(r.results, null, 2))
  }
  return dir
}

const history = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/history.ts', ...args], { cwd: ROOT, encoding: 'utf8' })

describe('history', () => {
  it('finds the planted step where it was planted, and nowhere else', () => {
    const h = buildHistory(plantedRuns(), SCENARIOS)
    expect(h.series.map((s) => s.runs.map((r) => r.dir))).toEqual([['run-0', 'run-1', 'run-2', 'run-3', 'run-4', 'run-5'], ['run-elsewhere']])
    const found = h.series[0]!.changePoints
    expect(found.map((c) => `${c.cellId} @${c.run} ${c.status}`)).toEqual(found.map(() => `${STEPPED} @${STEP_AT} confirmed`))
    const ratio = found.find((c) => c.metric === 'cpuRatio')!
    expect(ratio.step.changeRel).toBeCloseTo(1.3 * JITTER[STEP_AT]! / JITTER[STEP_AT - 1]! - 1, 5)
    expect(ratio.across.map((x) => [x.from, x.to, x.change.significant])).toEqual([[1, 3, true], [1, 4, true], [2, 4, true]])
    expect(h.series[1]!.changePoints).toEqual([])
  })

  it('marks a one-run excursion neither on its way up nor on its way back', () => {
    const runs = plantedRuns()
    // compare itself calls both steps significant: it is the pairs across each step that drop them
    for (const [a, b] of [[EXCURSION_AT - 1, EXCURSION_AT], [EXCURSION_AT, EXCURSION_AT + 1]]) {
      const step = compareRuns(runs[a!]!.results, runs[b!]!.results, SCENARIOS).changes
      expect(step.find((x) => x.cellId === EXCURSION && x.metric === 'cpuRatio')!.significant).toBe(true)
    }
    expect(buildHistory(runs, SCENARIOS).series[0]!.changePoints.filter((c) => c.cellId === EXCURSION)).toEqual([])
  })

  it('marks a step into the last run as unconfirmed', () => {
    const h = buildHistory(plantedRuns().slice(0, STEP_AT + 1), SCENARIOS)
    expect(h.series[0]!.changePoints.map((c) => c.cellId)).toEqual(h.series[0]!.changePoints.map(() => STEPPED))
    const ratio = h.series[0]!.changePoints.find((c) => c.metric === 'cpuRatio')!
    expect([ratio.cellId, ratio.run, ratio.status, ratio.across.map((x) => [x.from, x.to])]).toEqual([STEPPED, STEP_AT, 'unconfirmed', [[STEP_AT - 2, STEP_AT]]])
  })

  it('writes history.html, the same bytes on repeat, and says why the other host\'s run is kept apart', () => {
    const dir = resultsDir()
    const first = history(dir)
    expect(first.status, first.stderr).toBe(0)
    const lines = first.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^series 1: 6 run\(s\) on vm \(AMD EPYC, 1 core\), 2 chart\(s\), 1 change point\(s\)$/)
    expect(lines.slice(1, -1).join(' ')).toMatch(/^series 2: 1 run\(s\) on other-host .* kept apart from series 1: different machine \(other-host \(AMD EPYC, 8 cores\) vs vm/)
    expect(lines.at(-1)).toBe(join(dir, 'history.html'))
    expect(first.stderr).toMatch(/1 run\(s\) of an older schema version read through the migration/)
    const html = readFileSync(join(dir, 'history.html'), 'utf8')
    expect(history(dir).status).toBe(0)
    expect(readFileSync(join(dir, 'history.html'), 'utf8')).toBe(html)
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/)
  })

  it('refuses a missing folder in one line, exit 2', () => {
    const r = history(join(tmpdir(), 'authbench-history-no-such-folder'))
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/^authbench history: no such folder: .*no-such-folder\n$/)
  })

  it.skipIf(!hasChromium)(`opens offline with a chart with marks in every section${skippedNote}`, async () => {
    const dir = resultsDir()
    expect(history(dir).status).toBe(0)
    const { page, errors, network, close } = await openOffline(join(dir, 'history.html'))
    try {
      expect(errors).toEqual([])
      expect(network).toEqual([])
      const sections = await page.locator('section.series').evaluateAll((els) => els.map((el) => ({
        id: el.id,
        charts: [...el.querySelectorAll('.chart svg')].map((svg) => svg.querySelectorAll('path, rect, text').length),
        apart: el.querySelector('.apart')?.textContent ?? null,
      })))
      expect(sections.map((s) => s.id)).toEqual(['series-1', 'series-2'])
      for (const s of sections) {
        expect(s.charts.length, `${s.id} has charts`).toBe(2)
        for (const marks of s.charts) expect(marks, `${s.id} chart marks`).toBeGreaterThan(10)
      }
      expect(sections[1]!.apart).toMatch(/kept apart from series 1: different machine/)
      const rows = await page.locator('#series-1 table').first().locator('tbody tr').allTextContents()
      expect(rows.length).toBeGreaterThan(0)
      for (const row of rows) expect(row).toMatch(/^jwt tuned HS256CPU \/me ÷ \/health \(ratio\)#3 .*→ #4 .*confirmed/)
      await page.screenshot({ path: join(dir, 'history.png'), fullPage: true })
      process.stdout.write(`history screenshot: ${join(dir, 'history.png')}\n`)
    } finally {
      await close()
    }
  }, 90_000)
})
