import type { StrategyName } from '../config.ts'
import { jwt } from './jwt.ts'
import { jwtCookie } from './jwt-cookie.ts'
import { jwtDenylist } from './jwt-denylist.ts'
import { memorySession } from './memory-session.ts'
import { redisSession } from './redis-session.ts'
import { refresh } from './refresh.ts'
import { secureSession } from './secure-session.ts'
import type { StrategyDefinition } from './types.ts'

/**
 * The registry: every auth strategy by name. The app mounts identical routes over whichever it is
 * given; the harness plans, reports and judges claims from these definitions alone.
 */
export const STRATEGIES: Readonly<Record<StrategyName, StrategyDefinition>> = {
  'memory-session': memorySession,
  'redis-session': redisSession,
  jwt,
  'jwt-cookie': jwtCookie,
  'jwt-denylist': jwtDenylist,
  refresh,
  'secure-session': secureSession,
}

/**
 * Adds a strategy to this process's registry (a plugin, or a test's throw-away one); returns the undo.
 * The harness then plans, reports and judges it like the built-in ones; a server process knows only
 * the strategies its own registry holds (servers/strategies/*.ts, see docs/development.md).
 */
export function registerStrategy(def: StrategyDefinition): () => void {
  const registry = STRATEGIES as Record<string, StrategyDefinition>
  if (registry[def.name]) throw new Error(`a strategy named ${def.name} is registered already`)
  registry[def.name] = def
  return () => { delete registry[def.name] }
}

/** Every (strategy, profile) pair the registry supports. */
export function strategyProfiles(): Array<{ strategy: StrategyName; profile: StrategyDefinition['profiles'][number] }> {
  return Object.values(STRATEGIES).flatMap((s) => s.profiles.map((profile) => ({ strategy: s.name, profile })))
}
