import type { BenchOptions } from '../harness/run/options.ts'
import type { CellPlan, ChartDecl, MetricDecl, MetricNameOf, Scenario } from '../harness/run/scenario.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { countRedisKeys, holdExclusive, metricsRepeat, profileFor, sleep, summarizeMetrics } from './common.ts'
import {
  EXPIRY_MARGIN_MS, lockedWindowMs, logoutLatency, logoutWindow, massRevocation, revocationState, warmEveryPath,
} from './revocation-parts.ts'

export { credentialEndMs, credentialJwt, jwtTimes } from './revocation-parts.ts'

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

/** The report's charts of this scenario. */
const CHARTS: ReadonlyArray<ChartDecl<MetricNameOf<typeof METRICS>>> = [
  { title: 'Seconds a copied credential still works after logout (red tick: its configured lifetime)', series: [{ metric: 'windowSameInstanceSec', group: 'same instance' }, { metric: 'windowOtherInstanceSec', group: 'other instance' }], tick: 'configuredTtlSec' },
  { title: 'Share of a user\'s credentials still accepted after revoke-all', series: [{ metric: 'revokeAllStillAcceptedShare' }] },
]

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
  charts: CHARTS,
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
      if (env.redisProbe) ctx.status('revocation state')
      const state = env.redisProbe ? await revocationState(env.redisProbe, env.redisPrefix, a, quick) : null
      ctx.status('revoke-all')
      const revokeAll = await massRevocation(a, b)
      ctx.status('revocation window')
      const window = await logoutWindow(ctx, a, b, ttlSec, giveBack)
      // what is left once every credential of the repeat has expired
      let keysLeftAfterExpiry: number | null = null
      if (env.redisProbe) {
        ctx.status('waiting for revocation state to expire')
        await sleep(window.stateExpiredAtMs - Date.now())
        keysLeftAfterExpiry = (await countRedisKeys(env.redisProbe, env.redisPrefix)) - keysAtStart
      }
      const parts: RepeatParts = { ttlSec, latency, state, revokeAll, window, keysLeftAfterExpiry }
      return metricsRepeat(index, startedAt, revocationMetrics(parts), [], repeatNotes(STRATEGIES[env.spec.strategy].stateful, parts))
    } finally {
      giveBack()
    }
  },

  summarize: summarizeMetrics,
}

/** What the parts of one repeat measured. */
interface RepeatParts {
  ttlSec: number
  latency: Awaited<ReturnType<typeof logoutLatency>>
  state: Awaited<ReturnType<typeof revocationState>> | null
  revokeAll: Awaited<ReturnType<typeof massRevocation>>
  window: Awaited<ReturnType<typeof logoutWindow>>
  keysLeftAfterExpiry: number | null
}

/** The repeat's metrics, named as METRICS declares them. */
function revocationMetrics({ ttlSec, latency, state, revokeAll, window, keysLeftAfterExpiry }: RepeatParts) {
  const { same, other, lifetimeLeftSec, jwt } = window
  return {
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
  } satisfies Partial<Record<(typeof METRICS)[number]['name'], number | null>>
}

/** How to read the repeat: the lifetime it ran with, where the credential's end was read from, what revoke-all reached. */
function repeatNotes(stateful: boolean, { ttlSec, revokeAll, window }: RepeatParts): string[] {
  const notes = [`credential lifetime set to ${ttlSec} s for this scenario (defaults: sessions 3600 s, jwt 900 s, refresh access token 60 s)`, ...window.notes]
  if (window.jwt) notes.push(`the credential is a JWT: its lifetime left at logout is taken from its exp (whole seconds since the epoch: a ${ttlSec} s token lives between ${ttlSec - 1} and ${ttlSec} s)`)
  else if (!stateful) notes.push(`no JWT to read the end from: lifetime left = login + the configured ${ttlSec} s (an encrypted cookie stamps its issue time in whole seconds, so it may end up to 0.5 s either side)`)
  if (revokeAll.stillAcceptedOther !== null && revokeAll.stillAcceptedOther > 0 && (revokeAll.stillAcceptedSame ?? 1) === 0) {
    notes.push('revoke-all reached only the instance that answered it: credentials held by the other instance still work there')
  }
  return [...notes, ...(stateful ? [] : ['stateless: nothing on the server to invalidate'])]
}
