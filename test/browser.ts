/**
 * A page as a person sees it: a file opened offline in real headless Chromium (Debian's chromium,
 * driven by playwright-core), with every console error and every request that left the file system.
 */
import { existsSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import type { Page } from 'playwright-core'

export const CHROMIUM = process.env.AUTHBENCH_CHROMIUM ?? '/usr/bin/chromium'
export const hasChromium = existsSync(CHROMIUM)
/** What a test's name says when there is no browser to open the page in. */
export const skippedNote = hasChromium ? '' : ` (SKIPPED: no browser at ${CHROMIUM}; apt-get install -y chromium)`
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

export async function openOffline(file: string): Promise<{ page: Page; errors: string[]; network: string[]; close: () => Promise<void> }> {
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
  const errors: string[] = []
  const network: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('request', (r) => { if (!r.url().startsWith('file:')) network.push(r.url()) })
  await page.goto(pathToFileURL(file).href)
  return { page, errors, network, close: () => browser.close() }
}
