import { setupSessionStrategy } from './session-strategy.ts'
import { createRedisBackend } from './session-stores.ts'
import type { StrategyDefinition } from './types.ts'

export const redisSession: StrategyDefinition = {
  name: 'redis-session',
  description: 'server-side session in a shared Redis (key with TTL), id in a signed cookie',
  profiles: ['defaults', 'tuned', 'floor'],
  needsRedis: true,
  stateful: true,
  carrier: 'cookie',
  readsCookies: true,
  canRevokeAll: true,
  family: 'server-session',
  hybrid: null,
  setup: (scope, ctx) => setupSessionStrategy(scope, ctx, createRedisBackend(ctx.redis!, ctx.options.sessionTtlSec)),
}
