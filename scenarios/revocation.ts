import { loginUser, type Credential } from '../harness/load/credentials.ts'
import type { BenchOptions } from '../harness/run/options.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { countRedisKeys, holdExclusive, prefixMemoryBytes, metricsRepeat, profileFor, sleep, summarizeMetrics } from './common.ts'
import type { CellPlan, MetricDecl, Scenario, ScenarioContext } from '../harness/run/scenario.ts'
import type { Redis } from 'ioredis'

const PROBE_EVERY_MS = 25
/** Credentials of one user for revoke-all, logged in alternately on the two instances. */
const REVOKE_ALL_CREDENTIALS = 20
/** After this much past a credential's end, a probe that still succeeds is reported as never refused. */
const CAP_MARGIN_SEC = 1
/**
 * Revocation state in Redis is counted this long after the last credential's lifetime: some state
 * outlives its credentials by design (jwt-denylist keeps a user's token index 1 s past their expiry).
 */
const EXPIRY_MARGIN_MS = 1300

async function status(url: string, path: string, headers: Record<string, string>, body?: unknown): Promise<number> {
  const res = await fetch(`${url}${path}`, {
    method: body === undefined && path === '/me' ? 'GET' : 'POST',
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  await res.arrayBuffer()
  return res.status
}

/** Seconds from `t0` until `/me` first refuses the credential (the cap when it never did), and how many probes it accepted before. */
async function windowUntilRefused(url: string, headers: Record<string, string>, t0: number, capSec: number): Promise<{ sec: number; refused: boolean; acceptedProbes: number }> {
  for (let acceptedProbes = 0; ; acceptedProbes++) {
    const code = await status(url, '/me', headers)
    const sec = (performance.now() - t0) / 1000
    if (code !== 200) return { sec, refused: true, acceptedProbes }
    if (sec >= capSec) return { sec, refused: false, acceptedProbes: acceptedProbes + 1 }
    await sleep(PROBE_EVERY_MS)
  }
}

/** `exp` and `iat` (seconds since the epoch) of a JWT; null for anything that is not one. */
export function jwtTimes(token: string | undefined): { expSec: number; iatSec: number | null } | null {
  const parts = token?.split('.')
  if (parts?.length !== 3) return null
  try {
    const p = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { exp?: unknown; iat?: unknown }
    return typeof p.exp === 'number' ? { expSec: p.exp, iatSec: typeof p.iat === 'number' ? p.iat : null } : null
  } catch {
    return null
  }
}

/** The JWT a credential is carried by (bearer or cookie), if any. */
export function credentialJwt(c: Credential): { expSec: number; iatSec: number | null } | null {
  for (const t of [c.accessToken, ...Object.values(c.cookies)]) {
    const times = jwtTimes(t)
    if (times) return times
  }
  return null
}

/**
 * When a credential stops working by itself, as epoch ms: its JWT's `exp` where it is a JWT (whole
 * seconds: a "2 s" token issued at 10.76 s ends at 12 s, 1.24 s later), else the configured lifetime
 * from the moment the login was answered.
 */
export function credentialEndMs(c: Credential, loginAnsweredAtMs: number, ttlSec: number): number {
  const jwt = credentialJwt(c)
  return jwt ? jwt.expSec * 1000 : loginAnsweredAtMs + ttlSec * 1000
}

/** Credential lifetime of the scenario's servers: long enough to see "valid until expiry" end, short enough to wait for. */
const ttlFor = (o: Readonly<BenchOptions>) => (o.quick ? 2 : 4)

/** What this scenario reports (units and directions: see MetricDecl). */
export const METRICS = [
  { name: 'windowSameInstanceSec', label: 'valid after logout', unit: 's', meaning: 'how long a copied credential still works on the same instance after the logout answer (null: it was never refused)', better: 'lower', headline: true },
  { name: 'windowSameInstanceShareOfTtl', label: 'valid after logout, share of lifetime', unit: 'share', meaning: 'that window over the lifetime the credential had left at logout (from its JWT exp, whole seconds; else the configured lifetime from login): 0 = refused at once, 1 = works until it expires', better: 'lower' },
  { name: 'probesAcceptedAfterLogout', label: 'probes accepted after logout', unit: 'count', meaning: '/me probes (one every 25 ms from the logout answer) the same instance accepted before it first refused the credential: 0 = refused at the first request after logout', better: 'lower' },
  { name: 'probesAcceptedAfterLogoutOtherInstance', label: 'probes accepted after logout, other instance', unit: 'count', meaning: 'the same, on the other instance (null where it never accepted the credential)', better: 'lower' },
  { name: 'windowOtherInstanceSec', label: 'valid after logout, other instance', unit: 's', meaning: 'the same, probed on the other instance', better: 'lower' },
  { name: 'windowOtherInstanceShareOfTtl', label: 'valid after logout, other instance, share of lifetime', unit: 'share', meaning: 'the other instance\'s window over the lifetime left at logout', better: 'lower' },
  { name: 'credentialLifetimeLeftAtLogoutSec', label: 'lifetime left at logout', unit: 's', meaning: 'from the logout answer to the credential\'s own end (JWT exp, else login + configured lifetime)', better: 'neither' },
  { name: 'tokenLifetimeSec', label: 'token lifetime (exp − iat)', unit: 's', meaning: 'the JWT\'s exp − iat (null where the credential is no JWT)', better: 'neither' },
  { name: 'configuredTtlSec', label: 'configured lifetime', unit: 's', meaning: 'the credential lifetime this cell ran with', better: 'neither' },
  { name: 'revokeAllStillAcceptedShare', label: 'accepted after revoke-all', unit: 'share', meaning: 'of a user\'s credentials that worked on the instance that answered revoke-all, the share it still accepts afterwards', better: 'lower', headline: true },
  { name: 'revokeAllStillAcceptedOtherInstanceShare', label: 'accepted after revoke-all, other instance', unit: 'share', meaning: 'of the user\'s credentials that worked on the other instance, the share that instance still accepts after revoke-all was answered by the first', better: 'lower' },
  { name: 'logoutLatencyP50Ms', label: 'logout p50', unit: 'ms', meaning: 'latency of POST /logout, after a warm-up', better: 'lower' },
  { name: 'logoutLatencyMaxMs', label: 'logout max', unit: 'ms', meaning: 'slowest POST /logout', better: 'lower' },
  { name: 'acceptedOnOtherInstance', label: 'accepted on the other instance', unit: 'share', meaning: 'whether a credential issued on one instance works on the other before logout', better: 'neither' },
  { name: 'refreshRefusedAfterLogout', label: 'refresh refused after logout', unit: 'share', meaning: '1 when the refresh token is refused after logout (null where there is none)', better: 'higher' },
  { name: 'revokeAllLatencyMs', label: 'revoke-all latency', unit: 'ms', meaning: 'latency of POST /users/:id/revoke-all', better: 'lower' },
  { name: 'revokeAllRevokedCount', label: 'revoked by revoke-all', unit: 'count', meaning: 'credentials the server says it revoked', better: 'neither' },
  { name: 'revocationKeysPerLiveCredential', label: 'Redis keys per credential', unit: 'keys', meaning: 'Redis keys a live credential holds', better: 'lower' },
  { name: 'revocationKeysAddedPerLogout', label: 'keys per logout', unit: 'keys', meaning: 'net change of Redis keys per logout: what it adds (denylist entries) less what it removes (the user\'s emptied index)', better: 'lower' },
  { name: 'revocationKeysLeftPerLogout', label: 'keys left per logout', unit: 'keys', meaning: 'Redis keys a logged-out credential leaves behind until they expire (denylist entries, session tombstones, spent refresh tokens): keys after the logouts less keys before the logins', better: 'lower' },
  { name: 'revocationRedisBytesPerLogout', label: 'Redis bytes per logout', unit: 'B', meaning: 'Redis memory a logout adds: MEMORY USAGE summed over the cell\'s own keys (its key prefix), before and after the logouts, so that other cells\' keys do not count', better: 'lower' },
  { name: 'revocationKeysLeftAfterExpiry', label: 'keys left after expiry', unit: 'keys', meaning: 'revocation state still in Redis once every credential has expired', better: 'lower' },
] as const satisfies readonly MetricDecl[]

/** How long a revocation window is probed while the cell still holds the measurement lock. */
const LOCKED_WINDOW_MS = 500
/** --quick holds the lock for less of a window that lasts to the credential's expiry. */
const lockedWindowMs = (o: Readonly<BenchOptions>) => (o.quick ? 250 : LOCKED_WINDOW_MS)

/** Users of each part of a repeat (disjoint, so that revoke-all of one cannot touch another). */
const USERS = { warm: 200, latency: 100, window: 7, revokeAll: 9, state: 1000 } as const

/** Warm-up: every path a repeat measures, on both instances (login, /me, logout, revoke-all, refresh). */
async function warmEveryPath(urls: readonly string[], quick: boolean): Promise<void> {
  const warmPerInstance = quick ? 3 : 6
  await Promise.all(urls.map(async (url, k) => {
    for (let i = 0; i < warmPerInstance; i++) {
      const user = USERS.warm + k * warmPerInstance + i
      const c = await loginUser(url, user)
      await status(url, '/me', c.headers)
      if (c.refreshToken && i === 1) await status(url, '/refresh', {}, { refreshToken: c.refreshToken })
      if (i === 0) await status(url, `/users/${user}/revoke-all`, c.headers)
      else await status(url, '/logout', c.headers)
      await status(url, '/me', c.headers)
    }
  }))
}

/** (a) Logout latency, median and slowest. */
async function logoutLatency(url: string, quick: boolean): Promise<{ p50Ms: number; maxMs: number }> {
  const latenciesMs: number[] = []
  for (let i = 1; i <= (quick ? 10 : 30); i++) {
    const c = await loginUser(url, USERS.latency + i)
    const t = performance.now()
    await status(url, '/logout', c.headers)
    latenciesMs.push(performance.now() - t)
  }
  latenciesMs.sort((x, y) => x - y)
  return { p50Ms: latenciesMs[Math.floor(latenciesMs.length / 2)]!, maxMs: latenciesMs.at(-1)! }
}

/** (e) Revocation state in Redis: keys per live credential, keys and bytes a logout adds, keys a logged-out credential leaves. */
async function revocationState(redis: Redis, prefix: string, url: string, quick: boolean) {
  const M = quick ? 30 : 100
  const k0 = await countRedisKeys(redis, prefix)
  const live: Credential[] = []
  for (let i = 0; i < M; i++) live.push(await loginUser(url, USERS.state + i))
  const k1 = await countRedisKeys(redis, prefix)
  const mem1 = await prefixMemoryBytes(redis, prefix)
  for (const c of live) await status(url, '/logout', c.headers)
  const k2 = await countRedisKeys(redis, prefix)
  const mem2 = await prefixMemoryBytes(redis, prefix)
  return { keysPerCredential: (k1 - k0) / M, keysAddedPerLogout: (k2 - k1) / M, keysLeftPerLogout: (k2 - k0) / M, redisBytesPerLogout: (mem2 - mem1) / M }
}

/**
 * (d) Mass revocation: one user holding K credentials, logged in alternately on a and b; each is
 * probed afterwards only on the instance(s) where it worked before (a refresh token, which a probe
 * would rotate, is taken to work where it was issued).
 */
async function massRevocation(a: string, b: string) {
  const creds: Credential[] = []
  for (let k = 0; k < REVOKE_ALL_CREDENTIALS; k++) creds.push(await loginUser(k % 2 === 0 ? a : b, USERS.revokeAll))
  const probe = (c: Credential, url: string) => (c.refreshToken ? status(url, '/refresh', {}, { refreshToken: c.refreshToken }) : status(url, '/me', c.headers))
  const workedBefore = await Promise.all(creds.map(async (c, k) => (c.refreshToken
    ? { a: k % 2 === 0, b: k % 2 === 1 }
    : { a: (await status(a, '/me', c.headers)) === 200, b: (await status(b, '/me', c.headers)) === 200 })))
  const tRevoke = performance.now()
  const revokeRes = await fetch(`${a}/users/${USERS.revokeAll}/revoke-all`, { method: 'POST', headers: creds[0]!.headers })
  const revokeMs = performance.now() - tRevoke
  const revokeBody = (await revokeRes.json()) as { revoked?: number }
  const acceptedShare = async (url: string, side: 'a' | 'b') => {
    const worked = creds.filter((_, k) => workedBefore[k]![side])
    if (worked.length === 0) return null
    const codes = await Promise.all(worked.map((c) => probe(c, url)))
    return codes.filter((code) => code === 200).length / worked.length
  }
  const stillAcceptedSame = await acceptedShare(a, 'a')
  const stillAcceptedOther = await acceptedShare(b, 'b')
  return { latencyMs: revokeRes.status === 200 ? revokeMs : null, revokedCount: revokeBody.revoked ?? null, stillAcceptedSame, stillAcceptedOther }
}

/**
 * (b) The window after logout during which a copied credential still works, on the same and on the
 * other instance. Gives the measuring lock back (`giveBack`) once only waiting for expiry is left.
 */
async function logoutWindow(ctx: Pick<ScenarioContext, 'options'>, a: string, b: string, ttlSec: number, giveBack: () => void) {
  const notes: string[] = []
  const cred = await loginUser(a, USERS.window)
  const endMs = credentialEndMs(cred, Date.now(), ttlSec)
  const jwt = credentialJwt(cred)
  const acceptedOnOther = (await status(b, '/me', cred.headers)) === 200
  await status(a, '/logout', cred.headers)
  const tLogout = performance.now()
  const lifetimeLeftSec = (endMs - Date.now()) / 1000
  let refreshRefusedAfterLogout: number | null = null
  if (cred.refreshToken) refreshRefusedAfterLogout = (await status(a, '/refresh', {}, { refreshToken: cred.refreshToken })) === 401 ? 1 : 0
  // every credential of this repeat was issued, and every logout and revoke-all answered, by now:
  // whatever they left in Redis (tombstones, denylist entries) ends within one lifetime from here
  const stateExpiredAtMs = Date.now() + ttlSec * 1000 + EXPIRY_MARGIN_MS
  const capSec = Math.max(0, lifetimeLeftSec) + CAP_MARGIN_SEC
  const windows = Promise.all([
    windowUntilRefused(a, cred.headers, tLogout, capSec),
    acceptedOnOther ? windowUntilRefused(b, cred.headers, tLogout, capSec) : Promise.resolve(null),
  ])
  // a window that closes at once is timed alone; one that lasts to the credential's expiry overlaps
  // other cells' measurements after its first LOCKED_WINDOW_MS (a 25 ms probe's timing is then ± a few ms)
  await Promise.race([windows, sleep(lockedWindowMs(ctx.options))])
  giveBack()
  const [same, other] = await windows
  if (!acceptedOnOther) notes.push('another instance never accepted this credential (state local to one instance): no window to measure there')
  return { same, other, jwt, lifetimeLeftSec, acceptedOnOther, refreshRefusedAfterLogout, stateExpiredAtMs, notes }
}

/**
 * revocation — what logout and revoke-all really do. Instances run with short credential
 * lifetimes (TTL), so that "valid until expiry" is measured to the end instead of assumed.
 * After a warm-up of every path on both instances: (a) logout latency; (e) revocation state in
 * Redis per live credential and per logout; (d) revoking all of one user's credentials, each probed
 * afterwards only where it worked before; (b) the revocation window on the same and on the other
 * instance, probed every 25 ms from the logout answer, as a share of the lifetime the credential had
 * left (from its JWT `exp`, which has whole-second granularity); and, once every credential of the
 * repeat has expired (the wait runs beside (b)'s), what (e) left in Redis. (c), the steady-state
 * price of being able to revoke, is the throughput scenario's jwt-denylist and refresh cells
 * against plain jwt, measured in the same run.
 */
export const revocation: Scenario = {
  name: 'revocation',
  description: 'logout latency, the revocation window on the same and another instance, mass revocation, and revocation state',
  claims: ['sessions make logout "easy"', 'JWT logout is "harder": the token "remains valid until expiry"', 'token revocation is "complex"'],
  metrics: METRICS,
  repeats: (o) => o.metricsRepeats,
  sideBySide: true,

  plan(options) {
    // JWT exp has 1 s granularity: a T-second token lives between T−1 and T seconds, so T ≥ 2
    const ttlSec = ttlFor(options)
    return options.strategies.map((strategy): CellPlan => {
      const profile = profileFor(strategy, options)
      return {
        id: `revocation/${strategy}/${profile}/HS256/x2`, scenario: 'revocation', claims: this.claims,
        env: { strategy, profile, alg: 'HS256', instances: 2, balancer: 'none', serverArgs: ['--jwt-ttl', String(ttlSec), '--refresh-access-ttl', String(ttlSec), '--session-ttl', String(ttlSec)] },
      }
    })
  },

  // Measured on the 2-core machine: the requests before the window (quick ≈ 0.3 s, default ≈ 0.6 s),
  // with Redis the state's count (≈ 0.35 / 0.8 s); then a window probed under the lock for up to
  // LOCKED_WINDOW_MS. What is left is waiting, beside the next cells: a stateless credential's window
  // runs to its exp (on average ≈ 0.75 of the TTL: exp has whole seconds), Redis state to the TTL and
  // a margin from the logout; an in-process session waits for nothing.
  estimateSideBySide(o, cell) {
    const ttl = ttlFor(o)
    const def = STRATEGIES[cell.env.strategy]
    const before = o.quick ? 0.15 : 0.6
    const locked = lockedWindowMs(o) / 1000
    if (def.needsRedis) return { measureSec: before + (o.quick ? 0.35 : 0.8) + locked, waitSec: Math.max(0, ttl + EXPIRY_MARGIN_MS / 1000 - locked) }
    if (def.stateful) return { measureSec: before, waitSec: 0 }
    return { measureSec: before + locked, waitSec: Math.max(0, 0.75 * ttl - locked) }
  },
  estimateRepeatSec(o) {
    const cells = this.plan(o)
    return cells.reduce((t, c) => t + this.estimateSideBySide!(o, c).measureSec, 0) / Math.max(1, cells.length)
  },

  async runRepeat(ctx, env, _cell, index) {
    const startedAt = new Date().toISOString()
    const quick = ctx.options.quick
    const ttlSec = ttlFor(ctx.options) // the lifetime plan() gave this cell's servers
    const [a, b] = env.urls as [string, string]
    const def = STRATEGIES[env.spec.strategy]
    const notes: string[] = [`credential lifetime set to ${ttlSec} s for this scenario (defaults: sessions 3600 s, jwt 900 s, refresh access token 60 s)`]
    // Cells run side by side (sideBySide): this one measures while it holds the lock, and gives it
    // back once only waiting is left (its credential's expiry, its state's expiry)
    const release = await holdExclusive(ctx)
    let released = false
    const giveBack = () => { if (!released) release(); released = true }
    try {
      const keysAtStart = env.redisProbe ? await countRedisKeys(env.redisProbe, env.redisPrefix) : 0
      ctx.status('warming up')
      await warmEveryPath([a, b], quick)
      ctx.status('logout latency')
      const latency = await logoutLatency(a, quick)
      let state: Awaited<ReturnType<typeof revocationState>> | null = null
      if (env.redisProbe) {
        ctx.status('revocation state')
        state = await revocationState(env.redisProbe, env.redisPrefix, a, quick)
      }
      ctx.status('revoke-all')
      const revokeAll = await massRevocation(a, b)
      ctx.status('revocation window')
      const window = await logoutWindow(ctx, a, b, ttlSec, giveBack)
      notes.push(...window.notes)

      // what is left once every credential of the repeat has expired
      let keysLeftAfterExpiry: number | null = null
      if (env.redisProbe) {
        ctx.status('waiting for revocation state to expire')
        await sleep(window.stateExpiredAtMs - Date.now())
        keysLeftAfterExpiry = (await countRedisKeys(env.redisProbe, env.redisPrefix)) - keysAtStart
      }

      if (window.jwt) notes.push(`the credential is a JWT: its lifetime left at logout is taken from its exp (whole seconds since the epoch: a ${ttlSec} s token lives between ${ttlSec - 1} and ${ttlSec} s)`)
      else if (!def.stateful) notes.push(`no JWT to read the end from: lifetime left = login + the configured ${ttlSec} s (an encrypted cookie stamps its issue time in whole seconds, so it may end up to 0.5 s either side)`)
      if (revokeAll.stillAcceptedOther !== null && revokeAll.stillAcceptedOther > 0 && (revokeAll.stillAcceptedSame ?? 1) === 0) {
        notes.push('revoke-all reached only the instance that answered it: credentials held by the other instance still work there')
      }
      const { same, other, lifetimeLeftSec, jwt } = window
      return metricsRepeat(index, startedAt, {
        configuredTtlSec: ttlSec,
        tokenLifetimeSec: jwt && jwt.iatSec !== null ? jwt.expSec - jwt.iatSec : null,
        credentialLifetimeLeftAtLogoutSec: lifetimeLeftSec,
        logoutLatencyP50Ms: latency.p50Ms,
        logoutLatencyMaxMs: latency.maxMs,
        windowSameInstanceSec: same.refused ? same.sec : null,
        windowSameInstanceShareOfTtl: lifetimeLeftSec > 0 ? same.sec / lifetimeLeftSec : null,
        probesAcceptedAfterLogout: same.acceptedProbes,
        probesAcceptedAfterLogoutOtherInstance: other ? other.acceptedProbes : null,
        windowOtherInstanceSec: other?.refused ? other.sec : null,
        windowOtherInstanceShareOfTtl: other && lifetimeLeftSec > 0 ? other.sec / lifetimeLeftSec : null,
        acceptedOnOtherInstance: window.acceptedOnOther ? 1 : 0,
        refreshRefusedAfterLogout: window.refreshRefusedAfterLogout,
        revokeAllLatencyMs: revokeAll.latencyMs,
        revokeAllRevokedCount: revokeAll.revokedCount,
        revokeAllStillAcceptedShare: revokeAll.stillAcceptedSame,
        revokeAllStillAcceptedOtherInstanceShare: revokeAll.stillAcceptedOther,
        revocationKeysPerLiveCredential: state?.keysPerCredential ?? null,
        revocationKeysAddedPerLogout: state?.keysAddedPerLogout ?? null,
        revocationKeysLeftPerLogout: state?.keysLeftPerLogout ?? null,
        revocationRedisBytesPerLogout: state?.redisBytesPerLogout ?? null,
        revocationKeysLeftAfterExpiry: keysLeftAfterExpiry,
      }, [], [...notes, ...(def.stateful ? [] : ['stateless: nothing on the server to invalidate'])])
    } finally {
      giveBack()
    }
  },

  summarize: summarizeMetrics,
}
