import type { Redis } from 'ioredis'
import { ConfigError } from './config.ts'

/** A Redis URL fit to print or store: its password replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password === '') return url
    u.password = '***'
    return u.toString()
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@') // not a URL: still never echo what looks like credentials
  }
}

/**
 * Connects to Redis and proves it answers, or throws a ConfigError with one clear line.
 * While running: auto-pipelining on; no offline queue, so that a command issued while Redis is
 * down fails at once (→ 503) instead of queueing; reconnects with a short capped backoff.
 */
export async function connectRedis(url: string, keyPrefix: string, connectTimeoutMs = 2000): Promise<Redis> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError(`REDIS_URL is not a URL: '${redactUrl(url)}'`)
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new ConfigError(`REDIS_URL must start with redis:// or rediss://, got '${redactUrl(url)}'`)
  const { createRedisClient } = await import('./redis-client.ts')
  const redis = createRedisClient(url, keyPrefix, connectTimeoutMs)
  redis.on('error', () => {}) // surfaced per command as 503; reconnection is automatic
  try {
    await redis.connect()
    await redis.ping()
  } catch (err) {
    redis.disconnect()
    throw new ConfigError(`cannot reach Redis at ${parsed.host}: ${(err as Error).message}`)
  }
  return redis
}
