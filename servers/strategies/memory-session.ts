import { setupSessionStrategy } from './session-strategy.ts'
import { createMemoryBackend } from './session-stores.ts'
import type { StrategyDefinition } from './types.ts'

export const memorySession: StrategyDefinition = {
  name: 'memory-session',
  description: 'server-side session in this process\'s memory (expiring Map of plain data), id in a signed cookie',
  profiles: ['defaults', 'tuned', 'floor'],
  needsRedis: false,
  stateful: true,
  carrier: 'cookie',
  readsCookies: true,
  canRevokeAll: true,
  family: 'server-session',
  hybrid: null,
  setup: (scope, ctx) => setupSessionStrategy(scope, ctx, createMemoryBackend(ctx.options.sessionTtlSec)),
}
