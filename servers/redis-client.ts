import { Redis } from 'ioredis'

/**
 * The server's Redis client, not connected yet: auto-pipelining on; no offline queue, so that a
 * command issued while Redis is down fails at once (→ 503) instead of queueing; reconnects with a
 * short capped backoff. In a module of its own, imported where a Redis-backed strategy connects:
 * only those servers load ioredis (servers/redis.ts).
 */
export function createRedisClient(url: string, keyPrefix: string, connectTimeoutMs: number): Redis {
  return new Redis(url, {
    keyPrefix,
    lazyConnect: true,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: connectTimeoutMs,
    retryStrategy: (times) => Math.min(times * 50, 500),
  })
}
