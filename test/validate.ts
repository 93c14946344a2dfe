import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv } from 'ajv'

const schema = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'harness', 'results', 'results.schema.json'), 'utf8'))

/** Errors of `data` against harness/results/results.schema.json (empty when valid). */
export function validateResults(data: unknown): string[] {
  const ajv = new Ajv({ allErrors: true, strict: false })
  const validate = ajv.compile(schema)
  return validate(data) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`)
}
