import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { inject, onTestFinished } from 'vitest'
import { buildApp } from '../servers/app.ts'
import { resolveServerOptions, type Profile, type ServerOptions, type StrategyName } from '../servers/config.ts'
import { connectRedis } from '../servers/redis.ts'
import { loadKeyMaterial, type KeyMaterial } from '../servers/secrets.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'

/** This worker's private Redis (test/global-setup.ts): test files running at the same time never share one. */
export function testRedisUrl(): string {
  const urls = inject('redisUrls')
  return urls[(Number(process.env.VITEST_POOL_ID ?? 1) - 1) % urls.length]!
}

export const TEST_SECRET = 'authbench-test-secret-not-for-production'
export const TEST_JWT_SECRET = 'authbench-test-jwt-secret-known-to-tests'

export interface TestServer {
  url: string
  app: FastifyInstance
  keys: KeyMaterial
  redis: Redis | null
  options: Readonly<ServerOptions>
}

/** Builds the real app, listens on 127.0.0.1:0 and closes it when the test finishes. */
export async function startServer(strategy: StrategyName, profile: Profile, overrides: Partial<ServerOptions> = {}, keys?: KeyMaterial): Promise<TestServer> {
  const options = resolveServerOptions({ strategy, profile, port: 0, userCount: 200, logLevel: 'silent', ...overrides })
  const k = keys ?? loadKeyMaterial({ AUTHBENCH_SECRET: TEST_SECRET, JWT_SECRET: TEST_JWT_SECRET }, options.alg)
  let redis: Redis | null = null
  if (STRATEGIES[strategy].needsRedis) {
    redis = await connectRedis(testRedisUrl(), `t${randomBytes(6).toString('hex')}:`)
  }
  const app = await buildApp(options, { keys: k, redis })
  await app.listen({ port: 0, host: '127.0.0.1' })
  onTestFinished(async () => {
    await app.close()
    redis?.disconnect()
  })
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0
  return { url: `http://127.0.0.1:${port}`, app, keys: k, redis, options }
}

export interface JsonResponse {
  status: number
  body: Record<string, unknown> | null
  setCookies: string[]
  contentType: string | null
}

export async function request(url: string, init: RequestInit = {}): Promise<JsonResponse> {
  const res = await fetch(url, init)
  const text = await res.text()
  let body: Record<string, unknown> | null
  try { body = text ? JSON.parse(text) : null } catch { body = null }
  return { status: res.status, body, setCookies: res.headers.getSetCookie(), contentType: res.headers.get('content-type') }
}

export function me(base: string, headers: Record<string, string>): Promise<JsonResponse> {
  return request(`${base}/me`, { headers })
}

export function post(base: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<JsonResponse> {
  return request(`${base}${path}`, {
    method: 'POST',
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}
