/**
 * report and compare read results.json of every schema version this authbench knows, through one
 * migration step per version (a committed fixture per version), say when they migrated, and say so
 * in one line, with exit code 2, when they are given anything else (a newer authbench's run, a file
 * that is no run at all).
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { RESULTS_SCHEMA_VERSION } from '../harness/results/results.ts'
import { READABLE_SCHEMA_VERSIONS } from '../harness/results/migrate.ts'
import { loadRun, readRun, ReportError } from '../report/index.ts'
import { validateResults } from './validate.ts'

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

  // one committed run per version this authbench reads, written by that version's code
  const BY_VERSION: Record<(typeof READABLE_SCHEMA_VERSIONS)[number], string> = { 1: 'run-quick-all.json', 2: 'run-quick-v2.json', 3: 'run-quick-v3.json' }
  it.each(Object.entries(BY_VERSION))('reads a version %s run as the current shape, valid against the schema', (version, name) => {
    const dir = mkdtempSync(join(tmpdir(), 'authbench-read-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(import.meta.dirname, 'fixtures', name)
    expect((JSON.parse(readFileSync(path, 'utf8')) as { schemaVersion: number }).schemaVersion).toBe(Number(version))
    copyFileSync(path, join(dir, 'results.json'))
    const run = loadRun(dir)
    expect(run.fromVersion).toBe(Number(version))
    expect(run.results.schemaVersion).toBe(RESULTS_SCHEMA_VERSION)
    expect(validateResults(run.results)).toEqual([])
    if (Number(version) === RESULTS_SCHEMA_VERSION) expect(run.note).toBeNull()
    else expect(run.note).toMatch(new RegExp(`schema version ${version}: read through the migration to version ${RESULTS_SCHEMA_VERSION}`))
  })

  it('migrates what a v1 run lacks into what it means: one level whose connections were not recorded', () => {
    const run = readRun(runDirWith(() => {}))
    const cell = run.cells.find((c) => c.scenario === 'throughput' && c.state === 'completed')!
    expect(cell.state === 'completed' && cell.repeats[0]!.kind === 'throughput' && cell.repeats[0]!.levels).toEqual([])
    expect(cell.state === 'completed' && cell.summary.kind === 'throughput' && cell.summary.headlineConnections).toBeNull()
  })

  it('npm run report says in one line that it migrated an older run', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/report.ts', runDirWith(() => {})], { cwd: ROOT, encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(new RegExp(`schema version 1: read through the migration to version ${RESULTS_SCHEMA_VERSION}`))
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
