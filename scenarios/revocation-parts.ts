/**
 * The parts of a revocation repeat, each a function of its own: the warm-up of every path, (a) logout
 * latency, (e) revocation state in Redis, (d) revoke-all, (b) the window after logout. See
 * revocation.ts for the scenario that runs them in that order.
 */
import type { Redis } from 'ioredis'
import { loginUser, type Credential } from '../harness/load/credentials.ts'
import type { BenchOptions } from '../harness/run/options.ts'
import type { ScenarioContext } from '../harness/run/scenario.ts'
import { countRedisKeys, prefixMemoryBytes, sleep } from './common.ts'

const PROBE_EVERY_MS = 25
/** Credentials of one user for revoke-all, logged in alternately on the two instances. */
const REVOKE_ALL_CREDENTIALS = 20
/** After this much past a credential's end, a probe that still succeeds is reported as never refused. */
const CAP_MARGIN_SEC = 1
/**
 * Revocation state in Redis is counted this long after the last credential's lifetime: some state
 * outlives its credentials by design (jwt-denylist keeps a user's token index 1 s past their expiry).
 */
export const EXPIRY_MARGIN_MS = 1300

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

/** How long a revocation window is probed while the cell still holds the measurement lock. */
export const LOCKED_WINDOW_MS = 500
/** --quick holds the lock for less of a window that lasts to the credential's expiry. */
export const lockedWindowMs = (o: Readonly<BenchOptions>) => (o.quick ? 250 : LOCKED_WINDOW_MS)

/** Users of each part of a repeat (disjoint, so that revoke-all of one cannot touch another). */
const USERS = { warm: 200, latency: 100, window: 7, revokeAll: 9, state: 1000 } as const

/** Warm-up: every path a repeat measures, on both instances (login, /me, logout, revoke-all, refresh). */
export async function warmEveryPath(urls: readonly string[], quick: boolean): Promise<void> {
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
export async function logoutLatency(url: string, quick: boolean): Promise<{ p50Ms: number; maxMs: number }> {
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
export async function revocationState(redis: Redis, prefix: string, url: string, quick: boolean) {
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
export async function massRevocation(a: string, b: string) {
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
export async function logoutWindow(ctx: Pick<ScenarioContext, 'options'>, a: string, b: string, ttlSec: number, giveBack: () => void) {
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
