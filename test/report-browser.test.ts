/**
 * report.html as a person sees it: opened from disk in real headless Chromium (Debian's chromium,
 * driven by playwright-core), offline. No console errors, no network request, every chart's SVG
 * present and non-empty, one verdict row per claim; a screenshot is written for a human to look at.
 */
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { curveChartSpec, toSvg } from '../report/charts.ts'
import { CLAIM_RULES } from '../report/claims.ts'
import { writeReport } from '../report/index.ts'
import { SCENARIOS } from '../scenarios/index.ts'
import { CHROMIUM, CHROMIUM_ARGS, hasChromium, openOffline, skippedNote } from './browser.ts'

const FIXTURE = join(import.meta.dirname, 'fixtures', 'run-quick-all.json')

describe('report.html in a real browser', () => {
  it.skipIf(!hasChromium)(`opens offline with every chart drawn and a verdict per claim${skippedNote}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authbench-report-'))
    copyFileSync(FIXTURE, join(dir, 'results.json'))
    const files = await writeReport(dir, SCENARIOS)
    const { page, errors, network, close } = await openOffline(files.html)
    try {
      expect(errors).toEqual([])
      expect(network).toEqual([])
      expect(await page.locator('#verdicts tbody tr').count()).toBe(CLAIM_RULES.length)
      const sections = await page.locator('section.scenario').evaluateAll((els) => els.map((el) => ({
        name: el.getAttribute('data-scenario'),
        charts: [...el.querySelectorAll('.chart svg')].map((svg) => ({ marks: svg.querySelectorAll('path, rect, text').length, width: svg.getBoundingClientRect().width })),
      })))
      const inRun = new Set((await import(FIXTURE, { with: { type: 'json' } })).default.cells.map((c: { scenario: string }) => c.scenario))
      expect(sections.map((s) => s.name).sort()).toEqual([...inRun].sort())
      for (const s of sections) {
        expect(s.charts.length, `${s.name} has a chart`).toBeGreaterThan(0)
        for (const c of s.charts) {
          expect(c.width, `${s.name} chart width`).toBeGreaterThan(100)
          expect(c.marks, `${s.name} chart marks`).toBeGreaterThan(10)
        }
      }
      // a flag sits on the chart of the metric it is about: high variance is the CPU ratio's, on no other chart
      const highVarTitles = await page.locator('.chart svg').evaluateAll((svgs) => svgs
        .filter((svg) => svg.textContent?.includes('high variance'))
        .map((svg) => svg.querySelector('.role-title-text text')?.textContent ?? '?'))
      for (const title of highVarTitles) expect(title, 'a chart carrying a high-variance flag').toMatch(/ratio/)
      // nothing wider than the window: the method table's options once ran off the page as one unbroken line
      const overflowing = await page.evaluate(() => [...document.querySelectorAll('body > *, table')]
        .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className ? '.' + el.className : ''}: ${el.textContent?.slice(0, 60)}`))
      expect(overflowing).toEqual([])
      await page.screenshot({ path: join(dir, 'report.png'), fullPage: true })
      expect(existsSync(join(dir, 'report.png'))).toBe(true)
      process.stdout.write(`report screenshot: ${join(dir, 'report.png')}\n`)
    } finally {
      await close()
    }
  }, 60_000)

  it.skipIf(!hasChromium)('shows every series in a curve chart\'s legend, inside the chart (seven strategies once lost the last one)', async () => {
    const { chromium } = await import('playwright-core')
    const names = ['memory-session tuned', 'redis-session tuned', 'jwt tuned HS256', 'jwt-cookie tuned HS256', 'jwt-denylist tuned HS256', 'refresh tuned HS256', 'secure-session tuned']
    const points = names.flatMap((series, i) => [1, 10, 64].map((x) => ({ series, x, value: 1 + i / 10 + x / 100, lo: null, hi: null })))
    const svg = await toSvg(curveChartSpec({ title: 'seven series', xTitle: 'connections', yTitle: 'ratio', points }))
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
      // the report's own frame: a 1 100-pixel page whose charts scroll sideways rather than widen it
      await page.setContent(`<!doctype html><html><head><style>body{max-width:1100px;margin:24px auto;padding:0 16px}.chart{overflow-x:auto}</style></head><body><div class="chart">${svg}</div></body></html>`)
      const legend = await page.locator('.chart').evaluate((el) => {
        const box = el.getBoundingClientRect() // what shows without scrolling
        return [...el.querySelectorAll('.role-legend-label text')].map((t) => ({ text: t.textContent, inside: t.getBoundingClientRect().right <= box.right + 0.5 }))
      })
      expect(legend.map((l) => l.text)).toEqual(names)
      expect(legend.filter((l) => !l.inside).map((l) => l.text)).toEqual([])
    } finally {
      await browser.close()
    }
  }, 60_000)
})
