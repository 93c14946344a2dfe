import type { StrategyName } from '../config.ts'
import { jwt } from './jwt.ts'
import { jwtCookie } from './jwt-cookie.ts'
import { jwtDenylist } from './jwt-denylist.ts'
import { memorySession } from './memory-session.ts'
import { redisSession } from './redis-session.ts'
import { refresh } from './refresh.ts'
import { secureSession } from './secure-session.ts'
import type { StrategyDefinition } from './types.ts'

/** The registry: every auth strategy by name. The app mounts identical routes over whichever it is given. */
export const STRATEGIES: Readonly<Record<StrategyName, StrategyDefinition>> = Object.freeze({
  'memory-session': memorySession,
  'redis-session': redisSession,
  jwt,
  'jwt-cookie': jwtCookie,
  'jwt-denylist': jwtDenylist,
  refresh,
  'secure-session': secureSession,
})

/** Every (strategy, profile) pair the registry supports. */
export function strategyProfiles(): Array<{ strategy: StrategyName; profile: StrategyDefinition['profiles'][number] }> {
  return Object.values(STRATEGIES).flatMap((s) => s.profiles.map((profile) => ({ strategy: s.name, profile })))
}
