/**
 * What a run folder holds never aims the files authbench writes into it (issue 20, row 5): report,
 * compare, results.json and pids.json are written to a temp file created exclusively, then renamed,
 * so a symlink at the temp path or at the target is replaced, never written through.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { writeFileAtomic } from '../harness/results/atomic-file.ts'
import { REPORT_FILES, writeReport } from '../report/index.ts'
import { SCENARIOS } from '../scenarios/index.ts'

const ROOT = join(import.meta.dirname, '..')
const FIXTURE = join(import.meta.dirname, 'fixtures', 'run-quick-all.json')
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
/** A file outside the run folder that a planted symlink points at. */
function victim(dir: string, name: string): string {
  const path = join(dir, name)
  writeFileSync(path, 'precious\n')
  return path
}
const isRegularFile = (path: string) => lstatSync(path).isFile()

describe('writes into a run folder', () => {
  it('writeFileAtomic replaces a symlink at the target and creates nothing through one at its temp path', () => {
    const dir = tempDir('authbench-atomic-')
    const outside = tempDir('authbench-outside-')
    const target = join(dir, 'file.txt')
    const pointedAt = victim(outside, 'target')
    const viaTemp = victim(outside, 'temp')
    symlinkSync(pointedAt, target)
    symlinkSync(viaTemp, join(dir, `.file.txt.${process.pid}.tmp`)) // the first temp name it tries
    symlinkSync(join(outside, 'dangling'), join(dir, `file.txt.tmp`)) // the name report/index.ts used
    writeFileAtomic(target, 'new\n')
    expect(readFileSync(target, 'utf8')).toBe('new\n')
    expect(isRegularFile(target)).toBe(true)
    expect(readFileSync(pointedAt, 'utf8')).toBe('precious\n')
    expect(readFileSync(viaTemp, 'utf8')).toBe('precious\n')
    expect(readdirSync(outside).sort()).toEqual(['target', 'temp'])
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp') && !isSymlink(join(dir, f)))).toEqual([]) // no temp file left behind
  })

  it('npm run report (writeReport) never writes through report.md.tmp or report.html planted as symlinks', async () => {
    const run = tempDir('authbench-report-')
    const outside = tempDir('authbench-outside-')
    copyFileSync(FIXTURE, join(run, 'results.json'))
    const planted: string[] = []
    for (const file of Object.values(REPORT_FILES)) {
      for (const name of [`${file}.tmp`, `.${file}.${process.pid}.tmp`]) {
        planted.push(victim(outside, name))
        symlinkSync(planted.at(-1)!, join(run, name))
      }
    }
    planted.push(victim(outside, 'report.html'))
    symlinkSync(planted.at(-1)!, join(run, 'report.html'))
    const paths = await writeReport(run, SCENARIOS)
    for (const p of planted) expect(readFileSync(p, 'utf8'), p).toBe('precious\n')
    for (const p of Object.values(paths)) expect(isRegularFile(p), p).toBe(true)
    expect(readFileSync(paths.html, 'utf8')).toContain('<html')
  })

  it('npm run compare never writes through a compare.md planted as a symlink', () => {
    const [base, cand] = [tempDir('authbench-base-'), tempDir('authbench-cand-')]
    const outside = tempDir('authbench-outside-')
    for (const d of [base, cand]) copyFileSync(FIXTURE, join(d, 'results.json'))
    const target = victim(outside, 'compare.md')
    symlinkSync(target, join(cand, 'compare.md'))
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/compare.ts', base, cand], { encoding: 'utf8', cwd: ROOT })
    expect(r.status, r.stderr).toBe(0)
    expect(readFileSync(target, 'utf8')).toBe('precious\n')
    expect(isRegularFile(join(cand, 'compare.md'))).toBe(true)
    expect(readFileSync(join(cand, 'compare.md'), 'utf8')).toMatch(/^#/)
  })
})

function isSymlink(path: string): boolean {
  return lstatSync(path).isSymbolicLink()
}
