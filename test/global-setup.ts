import type { TestProject } from 'vitest/node'
import { startPrivateRedis, type PrivateRedis } from '../harness/processes/redis-server.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrls: string[]
  }
}

/**
 * One private redis-server per test worker, on free ports; never the user's own Redis. Per worker, not
 * one for the run: test files run two at a time, and a test that reads Redis's INFO counters around a
 * window (commands per request) must not count the other file's commands.
 */
export default async function setup(project: TestProject) {
  const servers: PrivateRedis[] = []
  for (let i = 0; i < project.globalConfig.maxWorkers; i++) servers.push(await startPrivateRedis())
  project.provide('redisUrls', servers.map((r) => r.url))
  return () => Promise.all(servers.map((r) => r.stop()))
}
