import type { TestProject } from 'vitest/node'
import { startPrivateRedis } from '../harness/processes/redis-server.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string
  }
}

/** One private redis-server for the whole test run, on a free port; never the user's own Redis. */
export default async function setup(project: TestProject) {
  const redis = await startPrivateRedis()
  project.provide('redisUrl', redis.url)
  return () => redis.stop()
}
