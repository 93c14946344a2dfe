/**
 * The mechanisms' own cost, in a loop: each strategy's per-request credential check alone, measured
 * with tinybench in a process of its own on the servers' core, once per run. Beside each throughput
 * cell the report puts its auth overhead (/me − /health CPU µs per request, in the server) next to
 * the loop cost of the mechanism it runs, so that the in-server inflation (allocation, cache misses,
 * the event loop between calls) is measured rather than assumed.
 *
 * `npm run bench` runs this file as a child (`node --import tsx harness/measure/mechanisms.ts`), which prints
 * one JSON line: MechanismCosts.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createSigner, createVerifier } from 'fast-jwt'
import { Redis } from 'ioredis'
import sodium from 'sodium-native'
import { Bench } from 'tinybench'
import { JWT_ALGORITHMS, type JwtAlgorithm } from '../../servers/config.ts'
import { generateJwtKeyPair } from '../../servers/secrets.ts'
import { REQUIRED_CLAIMS } from '../../servers/strategies/jwt-common.ts'
import { isSessionId, newSessionId } from '../../servers/strategies/session-strategy.ts'
import { MECHANISM } from './mechanism-names.ts'

export interface MechanismCost {
  /** e.g. `jwt-verify-HS256-uncached`. */
  name: string
  /** What one operation is, in words. */
  what: string
  /** Mean nanoseconds per operation (a timed sample runs `batch` operations). */
  nsPerOp: number
  /** Half-width of tinybench's 95 % CI of the mean, relative (0.02 = ±2 %): within this process only. */
  ciHalfWidthRel: number
  samples: number
  batch: number
}

export interface MechanismCosts {
  /** Cores the loop ran on (the servers' cores when pinned). */
  cpus: string
  node: string
  items: MechanismCost[]
  /** Mechanisms left out, with why (e.g. no Redis). */
  skipped: Array<{ name: string; reason: string }>
}

/** Distinct credentials the loops cycle through: as many as a throughput cell's default population. */
const POPULATION = 2000
/** A population that fits a 1 000-entry verify cache: the hit-dominated regime. */
const HIT_POPULATION = 500
/** Tokens the uncached loops of the asymmetric algorithms cycle through. */
const ASYMMETRIC_TOKENS = 50
/** Redis GETs in flight at once in the Redis loop. */
const REDIS_IN_FLIGHT = 50

interface TaskDef {
  name: string
  what: string
  /** Calls of fn per timed sample (a loop around it, for calls too short to time alone). */
  batch: number
  fn: () => unknown | Promise<unknown>
  /** Operations one call of fn performs (default 1). */
  perCall?: number
}

/** Cycles through xs, one per call. */
function cycler<T>(xs: readonly T[]): () => T {
  let i = 0
  return () => xs[i++ % xs.length]!
}

function jwtTasks(): TaskDef[] {
  const tasks: TaskDef[] = []
  const claims = (i: number) => ({ sub: String(i), role: i % 10 === 0 ? 'admin' : 'user' })
  for (const alg of JWT_ALGORITHMS as readonly JwtAlgorithm[]) {
    const hs = alg === 'HS256'
    const pair = hs ? null : generateJwtKeyPair(alg)
    const secret = randomBytes(32).toString('hex')
    const signKey = hs ? secret : pair!.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    const verifyKey = hs ? secret : pair!.publicKey.export({ type: 'spki', format: 'pem' }).toString()
    const sign = createSigner({ key: signKey, algorithm: alg, expiresIn: 900_000, aud: 'jwt' })
    // an uncached verify costs the same whichever token it checks: the asymmetric loops need no population
    // (signing 2 000 RS256 tokens took ≈ 0.6 s of every run's start)
    const tokens = Array.from({ length: hs ? POPULATION : ASYMMETRIC_TOKENS }, (_, i) => sign(claims(i + 1)))
    const verifyOpts = { key: verifyKey, algorithms: [alg], requiredClaims: REQUIRED_CLAIMS, allowedAud: 'jwt' }
    const uncached = createVerifier(verifyOpts)
    const next = cycler(tokens)
    tasks.push({ name: MECHANISM.jwtVerifyUncached(alg), what: `fast-jwt verify, ${alg}, no cache (jwt defaults; every cache miss)`, batch: hs ? 20 : 2, fn: () => uncached(next()) })
    if (!hs) continue
    // the cache regimes, HS256 only: 500 tokens in a 1 000-entry cache, every call after the first round a hit
    const hits = cycler(tokens.slice(0, HIT_POPULATION))
    const tokenKeyed = createVerifier({ ...verifyOpts, cache: 1000, cacheKeyBuilder: (t: string) => t })
    const hashKeyed = createVerifier({ ...verifyOpts, cache: 1000 })
    for (const t of tokens.slice(0, HIT_POPULATION)) { tokenKeyed(t); hashKeyed(t) }
    tasks.push({ name: MECHANISM.jwtTokenKeyedCacheHit, what: 'fast-jwt verify through its cache keyed by the token itself, a hit (jwt floor, population within the cache)', batch: 200, fn: () => tokenKeyed(hits()) })
    tasks.push({ name: MECHANISM.jwtHashKeyedCacheHit, what: 'fast-jwt verify through its cache keyed by SHA-256 of the token (its default; @fastify/jwt verify.cache: jwt tuned), a hit', batch: 50, fn: () => hashKeyed(hits()) })
    const thrash = createVerifier({ ...verifyOpts, cache: 1000, cacheKeyBuilder: (t: string) => t })
    const all = cycler(tokens)
    tasks.push({ name: MECHANISM.jwtCacheMiss, what: `fast-jwt verify through a 1 000-entry cache with ${POPULATION} tokens in turn: every call a miss and an insert (population beyond the cache)`, batch: 20, fn: () => thrash(all()) })
  }
  return tasks
}

function sessionTasks(): TaskDef[] {
  // the floor's own id and shape check: the loop times what the server runs
  const ids = Array.from({ length: POPULATION }, newSessionId)
  const store = new Map(ids.map((id, i) => [id, { userId: i + 1, role: 'user' }]))
  const nextId = cycler(ids)
  const key = randomBytes(32)
  const mac = (id: string) => createHmac('sha256', key).update(id).digest()
  const signed = ids.map((id) => `${id}.${mac(id).toString('base64url')}`)
  const nextSigned = cycler(signed)
  return [
    {
      name: MECHANISM.sessionIdMapLookup, what: 'shape check of an unsigned 192-bit id and Map.get among 2 000 sessions (memory-session floor)', batch: 1000,
      fn: () => { const id = nextId(); return isSessionId(id) ? store.get(id) : undefined },
    },
    {
      name: MECHANISM.sessionSignedIdCheck, what: 'HMAC-SHA256 check of a signed id (base64url decode, createHmac, timingSafeEqual), then Map.get: what a signed session cookie adds',
      batch: 50,
      fn: () => {
        const v = nextSigned()
        const dot = v.lastIndexOf('.')
        const id = v.slice(0, dot)
        const given = Buffer.from(v.slice(dot + 1), 'base64url')
        return given.length === 32 && timingSafeEqual(given, mac(id)) ? store.get(id) : undefined
      },
    },
  ]
}

function secureSessionTask(): TaskDef {
  // what @fastify/secure-session does per request: split the cookie, two base64 decodes, secretbox open, JSON.parse
  const key = Buffer.alloc(sodium.crypto_secretbox_KEYBYTES)
  sodium.randombytes_buf(key)
  const cookies = Array.from({ length: POPULATION }, (_, i) => {
    const msg = Buffer.from(JSON.stringify({ userId: i + 1, role: 'user' }))
    const nonce = Buffer.alloc(sodium.crypto_secretbox_NONCEBYTES)
    sodium.randombytes_buf(nonce)
    const cipher = Buffer.alloc(msg.length + sodium.crypto_secretbox_MACBYTES)
    sodium.crypto_secretbox_easy(cipher, msg, nonce, key)
    return `${cipher.toString('base64')};${nonce.toString('base64')}`
  })
  const next = cycler(cookies)
  return {
    name: MECHANISM.secureSessionDecrypt, what: 'open an encrypted cookie: split, base64 decode, libsodium secretbox open, JSON.parse (secure-session)', batch: 50,
    fn: () => {
      const [c, n] = next().split(';') as [string, string]
      const cipher = Buffer.from(c, 'base64')
      const nonce = Buffer.from(n, 'base64')
      const out = Buffer.alloc(cipher.length - sodium.crypto_secretbox_MACBYTES)
      return sodium.crypto_secretbox_open_easy(out, cipher, nonce, key) ? JSON.parse(out.toString()) : null
    },
  }
}

/** Runs every loop for about `timeMs` each and returns ns per operation with tinybench's CI. */
export async function measureMechanisms(opts: { timeMs: number; redisUrl: string | null }): Promise<MechanismCosts> {
  const tasks: TaskDef[] = [...sessionTasks(), ...jwtTasks(), secureSessionTask()]
  const skipped: MechanismCosts['skipped'] = []
  let redis: Redis | null = null
  const key = `abmech${randomBytes(4).toString('hex')}`
  if (opts.redisUrl) {
    redis = new Redis(opts.redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 1 })
    await redis.set(key, JSON.stringify({ userId: 1, role: 'user' }), 'EX', 60)
    // 50 in flight, as under load: auto-pipelined into few round trips, so the time per GET is about
    // the client's CPU per GET (the loop's core is busy), not one round trip's latency
    tasks.push({ name: MECHANISM.redisGet, what: `ioredis GET of a session over loopback, ${REDIS_IN_FLIGHT} in flight (auto-pipelined): time per GET ≈ the client's CPU per GET (redis-session floor)`, batch: 1, fn: () => Promise.all(Array.from({ length: REDIS_IN_FLIGHT }, () => redis!.get(key))), perCall: REDIS_IN_FLIGHT })
  } else {
    skipped.push({ name: MECHANISM.redisGet, reason: 'no Redis in this run' })
  }
  const bench = new Bench({ time: opts.timeMs, warmupTime: Math.min(100, opts.timeMs / 2) })
  for (const t of tasks) {
    const batch = t.batch
    const fn = t.fn
    if (batch === 1) bench.add(t.name, fn)
    else bench.add(t.name, () => { for (let i = 0; i < batch; i++) fn() })
  }
  try {
    await bench.run()
  } finally {
    await redis?.del(key).catch(() => {})
    redis?.disconnect()
  }
  const items: MechanismCost[] = []
  for (const t of tasks) {
    const r = bench.getTask(t.name)?.result
    if (!r || !('latency' in r)) {
      skipped.push({ name: t.name, reason: r && 'error' in r ? String((r as { error?: unknown }).error) : 'no result' })
      continue
    }
    const ops = t.batch * (t.perCall ?? 1)
    items.push({ name: t.name, what: t.what, nsPerOp: (r.latency.mean * 1e6) / ops, ciHalfWidthRel: r.latency.rme / 100, samples: r.latency.samplesCount, batch: ops })
  }
  return { cpus: cpusAllowed(), node: process.version, items, skipped }
}

function cpusAllowed(): string {
  try {
    return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 'unknown'
  } catch {
    return 'unknown'
  }
}
