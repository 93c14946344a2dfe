import type { Redis } from 'ioredis'
import { StoreUnavailableError } from '../errors.ts'

/** What a server-side session holds: plain data only (never the request or a live object). */
export interface SessionData {
  userId?: number
  role?: string
  claims?: Record<string, unknown>
}

/**
 * A session backend. Both @fastify/session (through `toLibraryStore`) and the floor profile use it,
 * so that the only difference between profiles is the library around it.
 */
export interface SessionBackend {
  get(sid: string): Promise<SessionData | null>
  set(sid: string, data: SessionData): Promise<void>
  destroy(sid: string): Promise<void>
  /** Remembers that `sid` belongs to `userId` (for revoke-all); called at login only. */
  index(userId: number, sid: string): Promise<void>
  /** Destroys every session of `userId`; returns how many existed. */
  revokeUser(userId: number): Promise<number>
  /** Live sessions (memory) or null where counting would cost a scan (Redis). */
  size(): number | null
  close(): void
}

interface Entry {
  data: SessionData
  expiresAtMs: number
}

/** In-process store: a Map of plain data with expiry (lazy on read, plus a periodic sweep). */
export function createMemoryBackend(ttlSec: number, sweepEveryMs = 60_000): SessionBackend {
  const ttlMs = ttlSec * 1000
  const sessions = new Map<string, Entry>()
  const byUser = new Map<number, Set<string>>()

  function remove(sid: string, entry: Entry | undefined): void {
    sessions.delete(sid)
    const uid = entry?.data.userId
    if (uid === undefined) return
    const set = byUser.get(uid)
    set?.delete(sid)
    if (set?.size === 0) byUser.delete(uid)
  }

  const sweeper = setInterval(() => {
    const now = Date.now()
    for (const [sid, entry] of sessions) if (entry.expiresAtMs <= now) remove(sid, entry)
  }, sweepEveryMs)
  sweeper.unref()

  return {
    async get(sid) {
      const entry = sessions.get(sid)
      if (entry === undefined) return null
      if (entry.expiresAtMs <= Date.now()) {
        remove(sid, entry)
        return null
      }
      return entry.data
    },
    async set(sid, data) {
      sessions.set(sid, { data, expiresAtMs: Date.now() + ttlMs })
    },
    async destroy(sid) {
      remove(sid, sessions.get(sid))
    },
    async index(userId, sid) {
      let set = byUser.get(userId)
      if (set === undefined) byUser.set(userId, (set = new Set()))
      set.add(sid)
    },
    async revokeUser(userId) {
      const set = byUser.get(userId)
      if (set === undefined) return 0
      let n = 0
      for (const sid of [...set]) {
        if (sessions.has(sid)) n++
        remove(sid, sessions.get(sid))
      }
      byUser.delete(userId)
      return n
    },
    size: () => sessions.size,
    close: () => clearInterval(sweeper),
  }
}

/** Redis store: `sess:<sid>` → JSON with a TTL; `usess:<userId>` → set of sids (login and revoke-all only). */
export function createRedisBackend(redis: Redis, ttlSec: number): SessionBackend {
  const ttlMs = ttlSec * 1000
  return {
    async get(sid) {
      const raw = await redis.get(`sess:${sid}`)
      return raw === null ? null : (JSON.parse(raw) as SessionData)
    },
    async set(sid, data) {
      await redis.set(`sess:${sid}`, JSON.stringify(data), 'PX', ttlMs)
    },
    async destroy(sid) {
      await redis.del(`sess:${sid}`)
    },
    async index(userId, sid) {
      await redis.multi().sadd(`usess:${userId}`, sid).pexpire(`usess:${userId}`, ttlMs).exec()
    },
    async revokeUser(userId) {
      const sids = await redis.smembers(`usess:${userId}`)
      if (sids.length === 0) return 0
      const deleted = await redis.del(...sids.map((sid) => `sess:${sid}`))
      await redis.del(`usess:${userId}`)
      return deleted
    },
    size: () => null,
    close: () => {},
  }
}

/** Callback-style store for @fastify/session over a backend. Persists only the plain session fields. */
export function toLibraryStore(backend: SessionBackend) {
  const fail = (cb: (err: Error) => void) => (err: Error) => cb(new StoreUnavailableError(err.message))
  return {
    set(sid: string, session: SessionData, cb: (err?: Error) => void) {
      const data: SessionData = {}
      if (session.userId !== undefined) data.userId = session.userId
      if (session.role !== undefined) data.role = session.role
      if (session.claims !== undefined) data.claims = session.claims
      backend.set(sid, data).then(() => cb(), fail(cb))
    },
    get(sid: string, cb: (err: Error | null, session?: SessionData | null) => void) {
      backend.get(sid).then((d) => cb(null, d), fail(cb))
    },
    destroy(sid: string, cb: (err?: Error) => void) {
      backend.destroy(sid).then(() => cb(), fail(cb))
    },
  }
}
