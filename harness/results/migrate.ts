/**
 * Reading results.json of any schema version this authbench knows, in one place: each step turns a
 * version into the next, so that report and compare read the current shape only (no fallbacks for
 * old shapes anywhere else). A version newer than this authbench, or none, is refused with a reason.
 *
 * Versions:
 * - 1: fields were added as they were measured (the concurrency sweep, the generator choice,
 *   cross-check pairs of the run's own generator, the load generator's own timing of a window,
 *   population reuse) without a new version, so a v1 file may lack any of them.
 * - 2: every one of them is present; what a v1 run did not record is stated as such (an empty
 *   `levels`: one level whose connections were not recorded; null where a figure was not taken).
 * - 3: the options record target mode (`targets`, `targetStats`: empty for a run that started its
 *   own servers, as every run before version 3 did), and every window its latency histogram and start
 *   time (null before: the histogram was not kept).
 */
import { RESULTS_SCHEMA_VERSION, type RunResults } from './results.ts'

/** The versions this authbench reads. */
export const READABLE_SCHEMA_VERSIONS = [1, 2, RESULTS_SCHEMA_VERSION] as const

export class SchemaVersionError extends Error {
  override name = 'SchemaVersionError'
}

/** What the reader did to a file of an older version, for the reader to say. */
export interface Migrated {
  results: RunResults
  /** The version the file had; equal to RESULTS_SCHEMA_VERSION when nothing was done. */
  fromVersion: number
}

type Json = Record<string, unknown>
const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x)
const objects = (x: unknown): Json[] => (Array.isArray(x) ? x.filter(isObject) : [])

/** The reason before-the-sweep results give for their one level. */
export const BEFORE_SWEEP_REASON = 'results from before the concurrency sweep: one level, its connections not recorded'

/** v1 → v2, in place: every field v2 requires, from what the v1 file holds. */
function v1ToV2(r: Json): void {
  for (const cell of objects(r.cells)) {
    for (const repeat of objects(cell.repeats)) {
      if (repeat.kind === 'throughput') throughputRepeatV2(repeat)
      for (const w of objects(repeat.windows)) windowV2(w)
    }
    if (isObject(cell.summary) && cell.summary.kind === 'throughput') throughputSummaryV2(cell.summary)
  }
  r.schemaVersion = 2
}

function throughputRepeatV2(repeat: Json): void {
  repeat.generator ??= 'autocannon' // the only generator before there was a choice
  repeat.levels ??= [] // before the sweep: `pairs` are the one level, its connections not recorded
  repeat.headlineConnections ??= null
  repeat.verifyCacheRegime ??= null
  repeat.populationLoggedIn ??= true // before populations were reused, every repeat logged in
  const cc = repeat.crossCheck
  if (isObject(cc) && cc.state === 'measured') cc.primaryPairs ??= null // the own generator's pairs were not measured in turn
  const pairs = [...objects(repeat.pairs), ...objects(repeat.levels).flatMap((l) => objects(l.pairs)), ...(isObject(cc) ? objects(cc.pairs).concat(objects(cc.primaryPairs)) : [])]
  for (const p of pairs) for (const w of [p.me, p.health]) if (isObject(w)) windowV2(w)
}

function windowV2(w: Json): void {
  w.loadDurationSec ??= w.durationSec // requestsPerSec was divided by the sampled duration then
}

function throughputSummaryV2(s: Json): void {
  s.generator ??= 'autocannon'
  s.headlineConnections ??= null
  s.headlineBasis ??= null
  s.headlineReason ??= BEFORE_SWEEP_REASON
  s.cpuRatioPerRepeat ??= []
  s.levels ??= []
  s.verifyCacheRegime ??= null
  s.crossCheck ??= null
}

/** v2 → v3, in place: a run before target mode started its own servers and kept no latency histograms. */
function v2ToV3(r: Json): void {
  if (isObject(r.options)) {
    r.options.targets ??= []
    r.options.targetStats ??= []
  }
  for (const w of everyWindow(r)) {
    w.latencyHistogram ??= null
    w.loadStartedAtEpochMs ??= null
  }
  r.schemaVersion = 3
}

/** Every load window of a run: metrics repeats' windows and throughput pairs (headline, levels, cross-check). */
function everyWindow(r: Json): Json[] {
  const pairs = (x: unknown) => objects(x).flatMap((p) => [p.me, p.health].filter(isObject))
  return objects(r.cells).flatMap((cell) => objects(cell.repeats).flatMap((rep) => {
    const cc = isObject(rep.crossCheck) ? rep.crossCheck : {}
    return [...objects(rep.windows), ...pairs(rep.pairs), ...objects(rep.levels).flatMap((l) => pairs(l.pairs)), ...pairs(cc.pairs), ...pairs(cc.primaryPairs)]
  }))
}

const STEPS: Record<number, (r: Json) => void> = { 1: v1ToV2, 2: v2ToV3 }

/** Any readable version → the current shape (the parsed object is changed in place). */
export function migrateResults(raw: unknown, source = 'results.json'): Migrated {
  const version = isObject(raw) ? raw.schemaVersion : undefined
  if (typeof version !== 'number' || !(READABLE_SCHEMA_VERSIONS as readonly number[]).includes(version)) {
    const said = version === undefined ? 'has no schemaVersion (not an authbench results.json?)' : `has schema version ${JSON.stringify(version)}`
    const newer = typeof version === 'number' && version > RESULTS_SCHEMA_VERSION ? ': it was written by a newer authbench, update this one' : ''
    throw new SchemaVersionError(`${source} ${said}; this authbench reads versions ${READABLE_SCHEMA_VERSIONS.slice(0, -1).join(', ')} and ${RESULTS_SCHEMA_VERSION}${newer}`)
  }
  const r = raw as Json
  for (let v = version; v < RESULTS_SCHEMA_VERSION; v++) STEPS[v]!(r)
  return { results: r as unknown as RunResults, fromVersion: version }
}
