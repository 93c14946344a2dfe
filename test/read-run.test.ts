/**
 * report and compare read results.json of the schema version this authbench writes, and say so in one
 * line, with exit code 2, when they are given anything else (a newer authbench's run, a file that is
 * no run at all).
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { RESULTS_SCHEMA_VERSION } from '../harness/results/results.ts'
import { readRun, ReportError } from '../report/index.ts'

const ROOT = join(import.meta.dirname, '..')
const FIXTURE = join(import.meta.dirname, 'fixtures', 'run-quick-all.json')
function runDirWith(patch: (r: Record<string, unknown>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'authbench-read-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  const r = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>
  patch(r)
  writeFileSync(join(dir, 'results.json'), JSON.stringify(r))
  return dir
}

describe('reading a run', () => {
  it('reads the version it writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'authbench-read-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    copyFileSync(FIXTURE, join(dir, 'results.json'))
    expect(readRun(dir).schemaVersion).toBe(RESULTS_SCHEMA_VERSION)
  })

  it('refuses a newer schema version, and a file without one, with a reason', () => {
    expect(() => readRun(runDirWith((r) => { r.schemaVersion = RESULTS_SCHEMA_VERSION + 1 }))).toThrow(ReportError)
    expect(() => readRun(runDirWith((r) => { r.schemaVersion = RESULTS_SCHEMA_VERSION + 1 }))).toThrow(/written by a newer authbench/)
    expect(() => readRun(runDirWith((r) => { delete r.schemaVersion }))).toThrow(/has no schemaVersion/)
  })

  it.each(['report', 'compare'])('npm run %s says so in one line and exits 2', (command) => {
    const newer = runDirWith((r) => { r.schemaVersion = RESULTS_SCHEMA_VERSION + 1 })
    const args = command === 'report' ? [newer] : [newer, newer]
    const r = spawnSync(process.execPath, ['--import', 'tsx', `scripts/${command}.ts`, ...args], { cwd: ROOT, encoding: 'utf8' })
    expect(r.status).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/newer authbench/)
  })
})
