/**
 * compare.html and the several-run compare: `npm run compare -- a b c` on committed fixtures writes
 * compare.md and compare.html, byte-identical on repeat; opened offline in real Chromium the page has
 * no console error and no network request, its warnings come first, then the claims whose verdict
 * changed, then one section per scenario, each with a chart, and a change table per candidate.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { hasChromium, openOffline, skippedNote } from './browser.ts'
import { fixturePath } from './fixture.ts'

const ROOT = join(import.meta.dirname, '..')

/** Run folders holding the given fixtures, and compare run over them. */
function compareFixtures(...fixtures: string[]): { dirs: string[]; run: () => ReturnType<typeof spawnSync> } {
  const root = mkdtempSync(join(tmpdir(), 'authbench-compare-html-'))
  const dirs = fixtures.map((f, i) => {
    const d = join(root, `run${i}`)
    mkdirSync(d)
    copyFileSync(fixturePath(f), join(d, 'results.json'))
    return d
  })
  return { dirs, run: () => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/compare.ts', ...dirs], { cwd: ROOT, encoding: 'utf8' }) }
}

describe('compare.html', () => {
  it('compares each of several candidates with the baseline, and writes the same files on repeat', () => {
    const { dirs, run } = compareFixtures('run-quick-all.json', 'run-contradicts.json', 'run-quick-all.json')
    const first = run()
    expect(first.status, String(first.stderr)).toBe(0)
    expect(String(first.stdout)).toMatch(/candidate 1: .*run1 against .*run0[\s\S]*candidate 2: .*run2 against .*run0/)
    const files = ['compare.md', 'compare.html'].map((f) => join(dirs[2]!, f))
    const before = files.map((f) => readFileSync(f, 'utf8'))
    expect(run().status).toBe(0)
    expect(files.map((f) => readFileSync(f, 'utf8'))).toEqual(before)
    // every candidate gets its own table in compare.md, and compare.html names every run
    expect(before[0]!.match(/^# authbench compare$/gm)).toHaveLength(2)
    for (const label of ['baseline', 'candidate 1', 'candidate 2']) expect(before[1]).toContain(`<b>${label}</b>`)
  })

  it.skipIf(!hasChromium)(`opens offline: warnings, changed verdicts, then every scenario with its charts${skippedNote}`, async () => {
    const { dirs, run } = compareFixtures('run-quick-all.json', 'run-contradicts.json')
    expect(run().status).toBe(0)
    const { page, errors, network, close } = await openOffline(join(dirs[1]!, 'compare.html'))
    try {
      expect(errors).toEqual([])
      expect(network).toEqual([])
      const headings = await page.locator('h2').allTextContents()
      expect(headings.slice(0, 2)).toEqual(['Warnings', 'Verdicts that changed'])
      // run-contradicts flips every claim: each one is listed, with both runs' verdicts
      const changed = await page.locator('#verdicts-changed tbody tr').count()
      expect(changed).toBe(8)
      const sections = await page.locator('section.scenario').evaluateAll((els) => els.map((el) => ({
        name: el.getAttribute('data-scenario'),
        charts: [...el.querySelectorAll('.chart svg')].map((svg) => svg.querySelectorAll('path, rect, text').length),
        tables: el.querySelectorAll('table').length,
      })))
      expect(sections.length).toBeGreaterThan(3)
      for (const s of sections) {
        expect(s.charts.length, `${s.name} has a chart`).toBeGreaterThan(0)
        for (const marks of s.charts) expect(marks, `${s.name} chart marks`).toBeGreaterThan(10)
        expect(s.tables, `${s.name} has its change table`).toBe(1)
      }
      await page.screenshot({ path: join(dirs[1]!, 'compare.png'), fullPage: true })
      process.stdout.write(`compare screenshot: ${join(dirs[1]!, 'compare.png')}\n`)
    } finally {
      await close()
    }
  }, 90_000)
})
