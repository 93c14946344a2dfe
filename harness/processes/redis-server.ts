import { spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { redactUrl } from '../../servers/redis.ts'
import { spawnOwned, stopChild, type ChildOwner } from './children.ts'
import { freePort } from './ports.ts'

/** A private redis-server this process started: loopback, free port, no persistence. */
export interface PrivateRedis {
  url: string
  port: number
  pid: number
  version: string
  /** Stops the server (SIGTERM, then SIGKILL) and removes its working directory. */
  stop(): Promise<void>
}

const versions = new Map<string, string | null>()

/** redis-server's version, or null when it is not on PATH; asked once per binary and process (failover restarts Redis). */
export function redisServerVersion(bin = 'redis-server'): string | null {
  if (!versions.has(bin)) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' })
    versions.set(bin, r.error || r.status !== 0 ? null : /v=(\S+)/.exec(r.stdout)?.[1] ?? r.stdout.trim())
  }
  return versions.get(bin)!
}

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError'
}

/**
 * Starts redis-server on a free loopback port with persistence off and waits until it answers PING.
 * Throws RedisUnavailableError (with how to install it) when redis-server is not on PATH.
 */
export async function startPrivateRedis(opts: { bin?: string; readyTimeoutMs?: number; port?: number; wrapper?: string[]; owner?: ChildOwner } = {}): Promise<PrivateRedis> {
  const bin = opts.bin ?? 'redis-server'
  const version = redisServerVersion(bin)
  if (version === null) {
    throw new RedisUnavailableError('redis-server not found: install it (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis) or set REDIS_URL')
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = opts.port ?? (await freePort())
    const dir = mkdtempSync(join(tmpdir(), 'authbench-redis-'))
    const child = spawnOwned([bin,
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'warning',
    ], { stdio: ['ignore', 'pipe', 'pipe'], wrapper: opts.wrapper ?? [], ...(opts.owner ? { owner: opts.owner } : {}) })
    let stderr = '' // redis-server logs to stdout ("Address already in use"); errors of its argv to stderr
    for (const s of [child.stdout!, child.stderr!]) s.on('data', (d: Buffer) => { stderr += d.toString() })
    const url = `redis://127.0.0.1:${port}`
    const ok = await waitForOwnPing(url, child, opts.readyTimeoutMs ?? 5000)
    if (ok) {
      return { url, port, pid: child.pid!, version, stop: () => stopChild(child, dir) }
    }
    await stopChild(child, dir)
    if (!/Address already in use/.test(stderr) || opts.port !== undefined) {
      const line = /.*Address already in use.*/.exec(stderr)?.[0] ?? stderr.trim().split('\n').pop() ?? 'no output'
      throw new Error(`redis-server did not start: ${line.replace(/^\d+:[A-Z] .*? # /, '')}`)
    }
  }
  throw new Error('redis-server did not start: no free port after 5 attempts')
}

/**
 * Waits until the redis-server we started answers at `url`: its INFO's process_id must be our child's
 * (the parent-death and CPU prefixes exec it), or another Redis that took the port between the probe
 * and the bind (a test run in parallel) would be taken for ours.
 */
async function waitForOwnPing(url: string, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 })
    client.on('error', () => {})
    try {
      await client.connect()
      const pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1])
      client.disconnect()
      if (pid === child.pid) return true
      await new Promise((r) => setTimeout(r, 50)) // another Redis on this port: ours exits with EADDRINUSE
    } catch {
      client.disconnect()
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  return false
}

/** Where a run's Redis comes from: its private redis-server, REDIS_URL, or none (and why). */
export interface RedisSource {
  source: 'private' | 'REDIS_URL' | 'none'
  url: string | null
  version: string | null
  note?: string
}

/** The user's Redis at REDIS_URL, if it answers (its version read from INFO); never throws: says why not. */
export async function adoptRedisUrl(url: string): Promise<RedisSource> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on('error', () => {})
  try {
    await probe.connect()
    const version = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? null
    return { source: 'REDIS_URL', url, version }
  } catch (err) {
    return { source: 'none', url: null, version: null, note: `REDIS_URL ${redactUrl(url)} does not answer (${(err as Error).message}): Redis-backed strategies skipped` }
  } finally {
    probe.disconnect()
  }
}
