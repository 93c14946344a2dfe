/**
 * Every scenario's metric names as types, taken from the scenarios' own declarations (`METRICS … as
 * const`): the report names a metric through these, so a renamed or misspelled metric fails the
 * type-check instead of reading as "not measured". A pattern declaration (`heapBytesPerCredentialAt*`)
 * stands for every name that starts with its prefix.
 */
import type { METRICS as FAILOVER } from '../scenarios/failover.ts'
import type { METRICS as HOSTILE } from '../scenarios/hostile.ts'
import type { METRICS as LOGIN } from '../scenarios/login.ts'
import type { METRICS as MEMORY } from '../scenarios/memory.ts'
import type { METRICS as REQUEST_SIZE } from '../scenarios/request-size.ts'
import type { METRICS as REVOCATION } from '../scenarios/revocation.ts'
import type { METRICS as SCALE_OUT } from '../scenarios/scale-out.ts'
import type { METRICS as THROUGHPUT } from '../scenarios/throughput.ts'

type Declared<T extends ReadonlyArray<{ readonly name: string }>> = T[number]['name']
/** A declared name, with a pattern (`prefix*`) standing for `prefix…`. */
type Expand<N extends string> = N extends `${infer P}*` ? `${P}${string}` : N
/** The prefix of each pattern declaration. */
type Prefix<N extends string> = N extends `${infer P}*` ? P : never

interface Declarations {
  throughput: typeof THROUGHPUT
  'request-size': typeof REQUEST_SIZE
  login: typeof LOGIN
  revocation: typeof REVOCATION
  memory: typeof MEMORY
  'scale-out': typeof SCALE_OUT
  failover: typeof FAILOVER
  hostile: typeof HOSTILE
}
export type ScenarioName = keyof Declarations
/** A metric name `scenario` reports. */
export type MetricName<S extends ScenarioName> = Expand<Declared<Declarations[S]>>
/** The prefix of one of `scenario`'s pattern metrics (e.g. `heapBytesPerCredentialAt`). */
export type MetricPrefix<S extends ScenarioName> = Prefix<Declared<Declarations[S]>>
/** A metric declaration's own name, patterns with their `*` (what barsForPattern takes). */
export type DeclaredName<S extends ScenarioName> = Declared<Declarations[S]>

/** `name`, checked against `scenario`'s declarations by the compiler. */
export const metric = <S extends ScenarioName>(_scenario: S, name: MetricName<S>): string => name
/** A pattern declaration of `scenario` (`prefix*`), checked by the compiler. */
export const pattern = <S extends ScenarioName>(_scenario: S, name: DeclaredName<S> & `${string}*`): string => name
