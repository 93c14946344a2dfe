import type { Redis } from 'ioredis'
import { loginUser, type Credential } from '../harness/credentials.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { metricsRepeat, profileFor, sleep, summarizeMetrics } from './common.ts'
import type { CellPlan, MetricDecl, Scenario } from './types.ts'

const PROBE_EVERY_MS = 25

async function status(url: string, path: string, headers: Record<string, string>, body?: unknown): Promise<number> {
  const res = await fetch(`${url}${path}`, {
    method: body === undefined && path === '/me' ? 'GET' : 'POST',
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  await res.arrayBuffer()
  return res.status
}

/** Seconds from `t0` until `/me` first refuses the credential; the cap when it never did. */
async function windowUntilRefused(url: string, headers: Record<string, string>, t0: number, capSec: number): Promise<{ sec: number; refused: boolean }> {
  for (;;) {
    const code = await status(url, '/me', headers)
    const sec = (performance.now() - t0) / 1000
    if (code !== 200) return { sec, refused: true }
    if (sec >= capSec) return { sec, refused: false }
    await sleep(PROBE_EVERY_MS)
  }
}

async function countKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0'
  let n = 0
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    n += keys.length
  } while (cursor !== '0')
  return n
}

/** What this scenario reports (units and directions: see MetricDecl). */
export const METRICS: readonly MetricDecl[] = [
  { name: 'windowSameInstanceSec', label: 'valid after logout', unit: 's', meaning: 'how long a copied credential still works on the same instance after the logout answer', better: 'lower', headline: true },
  { name: 'windowSameInstanceShareOfTtl', label: 'valid after logout, share of lifetime', unit: 'share', meaning: '0 = refused at once, 1 = works until it expires', better: 'lower' },
  { name: 'windowOtherInstanceSec', label: 'valid after logout, other instance', unit: 's', meaning: 'the same, probed on the other instance', better: 'lower' },
  { name: 'configuredTtlSec', label: 'configured lifetime', unit: 's', meaning: 'the credential lifetime this cell ran with', better: 'neither' },
  { name: 'revokeAllStillAcceptedShare', label: 'accepted after revoke-all', unit: 'share', meaning: 'share of a user\'s credentials still accepted after revoke-all', better: 'lower', headline: true },
  { name: 'logoutLatencyP50Ms', label: 'logout p50', unit: 'ms', meaning: 'latency of POST /logout', better: 'lower' },
  { name: 'logoutLatencyMaxMs', label: 'logout max', unit: 'ms', meaning: 'slowest POST /logout', better: 'lower' },
  { name: 'acceptedOnOtherInstance', label: 'accepted on the other instance', unit: 'share', meaning: 'whether a credential issued on one instance works on the other before logout', better: 'neither' },
  { name: 'revokeAllLatencyMs', label: 'revoke-all latency', unit: 'ms', meaning: 'latency of POST /users/:id/revoke-all', better: 'lower' },
  { name: 'revokeAllRevokedCount', label: 'revoked by revoke-all', unit: 'count', meaning: 'credentials the server says it revoked', better: 'neither' },
  { name: 'revocationKeysPerLiveCredential', label: 'Redis keys per credential', unit: 'keys', meaning: 'Redis keys a live credential holds', better: 'lower' },
  { name: 'revocationKeysAddedPerLogout', label: 'keys per logout', unit: 'keys', meaning: 'Redis keys a logout adds (denylist entries)', better: 'lower' },
  { name: 'revocationRedisBytesPerLogout', label: 'Redis bytes per logout', unit: 'B', meaning: 'Redis memory a logout adds', better: 'lower' },
  { name: 'revocationKeysLeftAfterExpiry', label: 'keys left after expiry', unit: 'keys', meaning: 'revocation state still in Redis once every credential has expired', better: 'lower' },
]

/**
 * revocation — what logout and revoke-all really do. Instances run with short credential
 * lifetimes (TTL), so that "valid until expiry" is measured to the end instead of assumed:
 * (a) logout latency; (b) the revocation window on the same and on another instance, probed every
 * 25 ms from the logout answer; (d) revoking all K credentials of one user; (e) revocation state in
 * Redis per logout and after expiry. (c), the steady-state price of being able to revoke, is the
 * throughput scenario's jwt-denylist and refresh cells against plain jwt, measured in the same run.
 */
export const revocation: Scenario = {
  name: 'revocation',
  description: 'logout latency, the revocation window on the same and another instance, mass revocation, and revocation state',
  claims: ['sessions make logout "easy"', 'JWT logout is "harder": the token "remains valid until expiry"', 'token revocation is "complex"'],
  metrics: METRICS,

  plan(options) {
    // JWT exp has 1 s granularity: a T-second token lives between T−1 and T seconds, so T ≥ 2
    const ttlSec = options.quick ? 2 : 4
    return options.strategies.map((strategy): CellPlan => {
      const profile = profileFor(strategy, options)
      return {
        id: `revocation/${strategy}/${profile}/HS256/x2`, scenario: 'revocation', claims: this.claims,
        env: { strategy, profile, alg: 'HS256', instances: 2, balancer: 'none', serverArgs: ['--jwt-ttl', String(ttlSec), '--refresh-access-ttl', String(ttlSec), '--session-ttl', String(ttlSec)] },
      }
    })
  },

  estimateRepeatSec: (o) => 2 + 2 * (o.quick ? 2 : 4),

  async runRepeat(ctx, env, _cell, index) {
    const startedAt = new Date().toISOString()
    const ttlSec = Number(env.spec.serverArgs![1])
    const [a, b] = env.urls as [string, string]
    const def = STRATEGIES[env.spec.strategy]
    const notes: string[] = [`credential lifetime set to ${ttlSec} s for this scenario (defaults: sessions 3600 s, jwt 900 s, refresh access token 60 s)`]

    // (e) first, while this env holds no live credential of this repeat: revocation state in Redis —
    // keys per live credential, keys added per logout, and what is left once everything expired
    let keysPerCredential: number | null = null
    let keysAddedPerLogout: number | null = null
    let keysLeftAfterExpiry: number | null = null
    let redisBytesPerLogout: number | null = null
    if (env.redisProbe) {
      ctx.status('revocation state')
      const M = 100
      const k0 = await countKeys(env.redisProbe, env.redisPrefix)
      const live: Credential[] = []
      for (let i = 0; i < M; i++) live.push(await loginUser(a, 1000 + i))
      const k1 = await countKeys(env.redisProbe, env.redisPrefix)
      const mem1 = Number(/used_memory:(\d+)/.exec(await env.redisProbe.info('memory'))?.[1])
      for (const c of live) await status(a, '/logout', c.headers)
      const k2 = await countKeys(env.redisProbe, env.redisPrefix)
      const mem2 = Number(/used_memory:(\d+)/.exec(await env.redisProbe.info('memory'))?.[1])
      await sleep((ttlSec + 1) * 1000)
      keysPerCredential = (k1 - k0) / M
      keysAddedPerLogout = (k2 - k1) / M
      redisBytesPerLogout = (mem2 - mem1) / M
      keysLeftAfterExpiry = (await countKeys(env.redisProbe, env.redisPrefix)) - k0
    }

    // (a) logout latency over 20 users
    ctx.status('logout latency')
    const latenciesMs: number[] = []
    for (let i = 1; i <= (ctx.options.quick ? 10 : 50); i++) {
      const c = await loginUser(a, 100 + i)
      const t = performance.now()
      await status(a, '/logout', c.headers)
      latenciesMs.push(performance.now() - t)
    }
    latenciesMs.sort((x, y) => x - y)

    // (b) revocation window after logout, on the same and on the other instance
    ctx.status('revocation window')
    const cred = await loginUser(a, 7)
    const acceptedOnOther = (await status(b, '/me', cred.headers)) === 200
    const tLogout = performance.now()
    await status(a, '/logout', cred.headers)
    const capSec = ttlSec + 1.5
    const [same, other] = await Promise.all([
      windowUntilRefused(a, cred.headers, tLogout, capSec),
      acceptedOnOther ? windowUntilRefused(b, cred.headers, tLogout, capSec) : Promise.resolve(null),
    ])
    if (!acceptedOnOther) notes.push('another instance never accepted this credential (state local to one instance): no window to measure there')
    let refreshRefusedAfterLogout: number | null = null
    if (cred.refreshToken) refreshRefusedAfterLogout = (await status(a, '/refresh', {}, { refreshToken: cred.refreshToken })) === 401 ? 1 : 0

    // (d) mass revocation: one user holding K credentials
    ctx.status('revoke-all')
    const K = 20
    const creds: Credential[] = []
    for (let k = 0; k < K; k++) creds.push(await loginUser(k % 2 === 0 ? a : b, 9))
    const tRevoke = performance.now()
    const revokeRes = await fetch(`${a}/users/9/revoke-all`, { method: 'POST', headers: creds[0]!.headers })
    const revokeMs = performance.now() - tRevoke
    const revokeBody = (await revokeRes.json()) as { revoked?: number }
    let stillAccepted = 0
    for (const c of creds) {
      const code = c.refreshToken ? await status(a, '/refresh', {}, { refreshToken: c.refreshToken }) : await status(c === creds[0] ? a : b, '/me', c.headers)
      if (code === 200) stillAccepted++
    }

    return metricsRepeat(index, startedAt, {
      configuredTtlSec: ttlSec,
      logoutLatencyP50Ms: latenciesMs[Math.floor(latenciesMs.length / 2)]!,
      logoutLatencyMaxMs: latenciesMs.at(-1)!,
      windowSameInstanceSec: same.refused ? same.sec : null,
      windowSameInstanceShareOfTtl: same.sec / ttlSec,
      windowOtherInstanceSec: other?.refused ? other.sec : null,
      acceptedOnOtherInstance: acceptedOnOther ? 1 : 0,
      refreshRefusedAfterLogout,
      revokeAllLatencyMs: revokeRes.status === 200 ? revokeMs : null,
      revokeAllRevokedCount: revokeBody.revoked ?? null,
      revokeAllStillAcceptedShare: stillAccepted / K,
      revocationKeysPerLiveCredential: keysPerCredential,
      revocationKeysAddedPerLogout: keysAddedPerLogout,
      revocationRedisBytesPerLogout: redisBytesPerLogout,
      revocationKeysLeftAfterExpiry: keysLeftAfterExpiry,
    }, [], [...notes, ...(def.stateful ? [] : ['stateless: nothing on the server to invalidate'])])
  },

  summarize: summarizeMetrics,
}
