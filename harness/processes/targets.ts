/**
 * Target mode: servers the harness did not start. Their load goes to the URLs given; their own
 * figures come from each instance's stats endpoint (servers/stats-endpoint.ts), so CPU per request and
 * bytes stay server-side measurements. Nothing here starts, pins or stops a process.
 */
import { lookup } from 'node:dns/promises'
import type { Redis } from 'ioredis'
import type { ProcessStats } from '../../servers/instrument.ts'
import { statsToken } from '../../servers/secrets.ts'
import { STATS_PATH } from '../../servers/stats-endpoint.ts'
import type { CellEnv, EnvSpec } from './env-spec.ts'
import type { Instance } from './instances.ts'

/** What a run in target mode was told. */
export interface TargetSet {
  /** Where load goes: a balancer, or each instance. */
  urls: string[]
  /** Each instance's stats endpoint (may be empty: then server-side figures are out of reach). */
  stats: string[]
  token: string | null
}

/** A request the target mode cannot serve (a server the harness would have to start): the cell says so. */
export class TargetModeError extends Error {
  override name = 'TargetModeError'
}

export function targetSet(urls: readonly string[], stats: readonly string[], env: NodeJS.ProcessEnv = process.env): TargetSet {
  return { urls: [...urls], stats: [...stats], token: stats.length > 0 ? statsToken(env) : null }
}

const STATS_TIMEOUT_MS = 5000

/** One target instance, known by its stats endpoint: no process, no pid; stopping it is not ours to do. */
function remoteInstance(statsUrl: string, serviceUrl: string, token: string | null): Instance {
  const stats = async (o: { gc?: boolean; speed?: boolean } = {}): Promise<ProcessStats> => {
    if (token === null) throw new TargetModeError('no token for the targets\' stats endpoints: set AUTHBENCH_STATS_TOKEN, or AUTHBENCH_SECRET as the targets have it')
    const query = `${o.gc ? '&gc=1' : ''}${o.speed ? '&speed=1' : ''}`.replace(/^&/, '?')
    const res = await fetch(`${statsUrl}${STATS_PATH}${query}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(STATS_TIMEOUT_MS) })
    if (res.status === 401) throw new TargetModeError(`${statsUrl} refused the stats token (401): the targets run with another AUTHBENCH_SECRET or AUTHBENCH_STATS_TOKEN`)
    if (!res.ok) throw new TargetModeError(`${statsUrl}${STATS_PATH} answered ${res.status}`)
    return (await res.json()) as ProcessStats
  }
  return { url: serviceUrl, port: Number(new URL(serviceUrl).port || 80), pid: null, process: null, log: () => '', stats, stop: async () => {} }
}

/**
 * The env of a cell in target mode: every target URL takes load, every stats URL is an instance. An
 * instance's own URL is its target URL where there is one target per stats endpoint, else the first
 * target (a balancer: the instances behind it are reached through it).
 */
export function targetEnv(spec: EnvSpec, t: TargetSet, redisProbe: Redis | null, redisPrefix: string): CellEnv {
  const started = [spec.serverArgs?.length ? `server options ${spec.serverArgs.join(' ')}` : null, spec.nodeArgs?.length ? `node options ${spec.nodeArgs.join(' ')}` : null, spec.runUnder ? 'a profiler' : null].filter(Boolean)
  if (spec.serverArgs?.includes('--http2') || spec.runUnder || spec.fromSources) throw new TargetModeError(`target mode: this needs a server the harness starts itself (${started.join(', ') || 'from sources'})`)
  const instances = t.stats.map((s, k) => remoteInstance(s, t.urls.length === t.stats.length ? t.urls[k]! : t.urls[0]!, t.token))
  return {
    spec,
    instances,
    urls: [...t.urls],
    redisProbe,
    redisPrefix,
    balancer: null,
    logs: () => ({}),
    stop: async () => {},
    spreadOverAllCores: async () => async () => {},
  }
}

/**
 * Before a target-mode run: does every target answer GET /health, and every stats endpoint the
 * token? The first problem as one line, or null.
 */
export async function checkTargets(t: TargetSet): Promise<string | null> {
  for (const url of t.urls) {
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(STATS_TIMEOUT_MS) })
      await res.arrayBuffer()
      if (res.status !== 200) return `--target ${url}: GET /health answered ${res.status}, not 200 (is it an authbench server, or a balancer in front of some?)`
    } catch (err) {
      return `--target ${url} does not answer: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`
    }
  }
  for (const url of t.stats) {
    try {
      await remoteInstance(url, t.urls[0]!, t.token).stats()
    } catch (err) {
      const e = err as Error
      return `--target-stats ${url}: ${e instanceof TargetModeError ? e.message : `does not answer: ${e.cause instanceof Error ? e.cause.message : e.message}`}`
    }
  }
  return null
}

/**
 * Stats endpoints as given, with every `dns+http://name:port` replaced by one `http://address:port`
 * per address the name resolves to: the instances behind a headless Kubernetes Service or a scaled
 * Compose service, found without listing them.
 */
export async function discoverStats(urls: readonly string[]): Promise<string[]> {
  const out: string[] = []
  for (const u of urls) {
    if (!u.startsWith('dns+http://')) {
      out.push(u)
      continue
    }
    const url = new URL(u.slice('dns+'.length))
    const found = await lookup(url.hostname, { all: true })
    for (const a of found) out.push(`http://${a.family === 6 ? `[${a.address}]` : a.address}:${url.port || 80}`)
  }
  return out
}
