import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { migrateResults } from '../harness/results/migrate.ts'
import type { RunResults } from '../harness/results/results.ts'

export const fixturePath = (name: string) => join(import.meta.dirname, 'fixtures', name)

/** A committed run, read as report and compare read it: through the schema migration. */
export function readFixture(name: string): RunResults {
  return migrateResults(JSON.parse(readFileSync(fixturePath(name), 'utf8')), name).results
}
