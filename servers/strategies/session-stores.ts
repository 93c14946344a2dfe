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
 *
 * A destroyed session leaves a tombstone for one TTL: a save that began before the destroy (a
 * rolling session re-saved at the end of a request in flight) finds it and writes nothing, so
 * logout and revoke-all can never be undone by a request that loaded the session earlier.
 */
export interface SessionBackend {
  get(sid: string): Promise<SessionData | null>
  /** Creates or updates a session; never recreates one that was destroyed. */
  set(sid: string, data: SessionData): Promise<void>
  /** Destroys a live session (leaving its tombstone); an unknown id creates nothing. */
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
  /** null: a tombstone (destroyed; kept until expiry so that no pending save revives it). */
  data: SessionData | null
  expiresAtMs: number
}

/** In-process store: a Map of plain data with expiry (lazy on read, plus a periodic sweep). */
export function createMemoryBackend(ttlSec: number, sweepEveryMs = 60_000): SessionBackend {
  return new MemoryBackend(ttlSec * 1000, sweepEveryMs)
}

class MemoryBackend implements SessionBackend {
  private readonly sessions = new Map<string, Entry>()
  private readonly byUser = new Map<number, Set<string>>()
  private readonly sweeper: NodeJS.Timeout

  constructor(private readonly ttlMs: number, sweepEveryMs: number) {
    this.sweeper = setInterval(() => {
      const now = Date.now()
      for (const [sid, entry] of this.sessions) if (entry.expiresAtMs <= now) this.remove(sid, entry)
    }, sweepEveryMs)
    this.sweeper.unref()
  }

  async get(sid: string): Promise<SessionData | null> {
    const entry = this.sessions.get(sid)
    if (entry === undefined) return null
    if (entry.expiresAtMs <= Date.now()) {
      this.remove(sid, entry)
      return null
    }
    return entry.data
  }

  async set(sid: string, data: SessionData): Promise<void> {
    const entry = this.sessions.get(sid)
    if (entry?.data === null && entry.expiresAtMs > Date.now()) return // destroyed: never revived
    this.sessions.set(sid, { data, expiresAtMs: Date.now() + this.ttlMs })
  }

  async destroy(sid: string): Promise<void> {
    this.kill(sid)
  }

  async index(userId: number, sid: string): Promise<void> {
    let set = this.byUser.get(userId)
    if (set === undefined) this.byUser.set(userId, (set = new Set()))
    set.add(sid)
  }

  async revokeUser(userId: number): Promise<number> {
    const set = this.byUser.get(userId)
    if (set === undefined) return 0
    let n = 0
    for (const sid of [...set]) if (this.kill(sid, 'tombstone')) n++
    this.byUser.delete(userId)
    return n
  }

  size(): number {
    let live = 0
    for (const entry of this.sessions.values()) if (entry.data !== null) live++
    return live
  }

  close(): void {
    clearInterval(this.sweeper)
  }

  private remove(sid: string, entry: Entry | undefined): void {
    this.sessions.delete(sid)
    this.unindex(sid, entry)
  }

  private unindex(sid: string, entry: Entry | undefined): void {
    const uid = entry?.data?.userId
    if (uid === undefined) return
    const set = this.byUser.get(uid)
    set?.delete(sid)
    if (set?.size === 0) this.byUser.delete(uid)
  }

  /**
   * Replaces a live session by its tombstone; true when it was live. `unsaved: 'tombstone'` (ids from
   * our own index only) also buries an id whose session is not saved yet: @fastify/session indexes a
   * login's new id in the handler and saves the session after it, when the reply is sent.
   */
  private kill(sid: string, unsaved: 'ignore' | 'tombstone' = 'ignore'): boolean {
    const entry = this.sessions.get(sid)
    if (entry === undefined && unsaved === 'tombstone') this.sessions.set(sid, { data: null, expiresAtMs: Date.now() + this.ttlMs })
    if (entry === undefined || entry.data === null) return false
    this.unindex(sid, entry)
    if (entry.expiresAtMs <= Date.now()) {
      this.sessions.delete(sid)
      return false
    }
    this.sessions.set(sid, { data: null, expiresAtMs: Date.now() + this.ttlMs })
    return true
  }
}

/** The tombstone value of a destroyed session key (not JSON, so it can never parse as session data). */
const TOMBSTONE = '!'

/** Save unless destroyed; a session with a user keeps that user's index alive at least as long as itself. */
const SAVE = `
if redis.call('GET', KEYS[1]) == '${TOMBSTONE}' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[3] == '1' then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1
`
/**
 * Destroy one session (KEYS[1]) and take it out of its user's index. ARGV: tombstone TTL (ms), the key
 * prefix (the index key is derived from the session's data, and ioredis prefixes only KEYS), the id.
 */
const DESTROY = `
local v = redis.call('GET', KEYS[1])
if not v or v == '${TOMBSTONE}' then return 0 end
redis.call('SET', KEYS[1], '${TOMBSTONE}', 'PX', ARGV[1])
local ok, data = pcall(cjson.decode, v)
if ok and type(data) == 'table' and type(data.userId) == 'number' then
  redis.call('SREM', ARGV[2] .. 'usess:' .. string.format('%d', data.userId), ARGV[3])
end
return 1
`
/**
 * revoke-all in one step: bury every id in the user's index (KEYS[1]) and delete the index; returns
 * how many sessions were live. An id not saved yet is buried too (@fastify/session indexes a login's
 * id before it saves the session), so its pending save writes nothing. A login indexes its id in one
 * command, so it lands either before this script (ended) or after it (in a fresh index, which the
 * next revoke-all reaches). ARGV: tombstone TTL (ms), the key prefix.
 */
const REVOKE_USER = `
local n = 0
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = ARGV[2] .. 'sess:' .. sid
  local v = redis.call('GET', k)
  if v ~= '${TOMBSTONE}' then
    if v then n = n + 1 end
    redis.call('SET', k, '${TOMBSTONE}', 'PX', ARGV[1])
  end
end
redis.call('DEL', KEYS[1])
return n
`

type ScriptedRedis = Redis & {
  authbenchSessionSave(sessKey: string, indexKey: string, json: string, ttlMs: number, indexed: '0' | '1'): Promise<number>
  authbenchSessionDestroy(sessKey: string, ttlMs: number, prefix: string, sid: string): Promise<number>
  authbenchSessionRevokeUser(indexKey: string, ttlMs: number, prefix: string): Promise<number>
}

/**
 * Redis store: `sess:<sid>` → JSON with a TTL (or the tombstone); `usess:<userId>` → set of sids,
 * whose expiry every save of one of its sessions extends, so revoke-all finds a session however
 * long it has been rolling; a destroy (logout) takes its id out, so after logouts the index holds the
 * live sessions (and those that expired unused, until the index itself expires or a revoke-all).
 * Saves, destroys and revoke-all are Lua scripts: atomic against each other.
 */
export function createRedisBackend(redis: Redis, ttlSec: number): SessionBackend {
  const ttlMs = ttlSec * 1000
  redis.defineCommand('authbenchSessionSave', { numberOfKeys: 2, lua: SAVE })
  redis.defineCommand('authbenchSessionDestroy', { numberOfKeys: 1, lua: DESTROY })
  redis.defineCommand('authbenchSessionRevokeUser', { numberOfKeys: 1, lua: REVOKE_USER })
  const r = redis as ScriptedRedis
  const prefix = redis.options.keyPrefix ?? ''
  return {
    async get(sid) {
      const raw = await redis.get(`sess:${sid}`)
      return raw === null || raw === TOMBSTONE ? null : (JSON.parse(raw) as SessionData)
    },
    async set(sid, data) {
      const indexed = data.userId !== undefined
      await r.authbenchSessionSave(`sess:${sid}`, `usess:${indexed ? data.userId : 0}`, JSON.stringify(data), ttlMs, indexed ? '1' : '0')
    },
    async destroy(sid) {
      await r.authbenchSessionDestroy(`sess:${sid}`, ttlMs, prefix, sid)
    },
    async index(userId, sid) {
      await redis.multi().sadd(`usess:${userId}`, sid).pexpire(`usess:${userId}`, ttlMs).exec()
    },
    revokeUser: (userId) => r.authbenchSessionRevokeUser(`usess:${userId}`, ttlMs, prefix),
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
