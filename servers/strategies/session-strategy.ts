import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Principal } from '../users.ts'
import { clearCookie, readCookie, setCookie } from './cookies.ts'
import type { SessionBackend, SessionData } from './session-stores.ts'
import { toLibraryStore } from './session-stores.ts'
import type { AuthHandlers, StrategyContext } from './types.ts'

export const SESSION_COOKIE = 'sessionId'

/** Bytes of CSPRNG output in a floor session id: 192 bits, 32 base64url characters. */
const SESSION_ID_BYTES = 24
const SESSION_ID_SHAPE = /^[A-Za-z0-9_-]{32}$/
export const newSessionId = () => randomBytes(SESSION_ID_BYTES).toString('base64url')
export const isSessionId = (s: string) => s.length === 32 && SESSION_ID_SHAPE.test(s)

/** The library gave this request no session (a URL outside its cookie path): nothing to log in to. */
class SessionUnavailableError extends Error {
  override name = 'SessionUnavailableError'
  statusCode = 400
  constructor() { super('no session for this request target') }
}

/** The part of @fastify/session's request.session we use (kept local: its types clash with secure-session's). */
interface LibrarySession extends SessionData {
  sessionId: string
  regenerate(): Promise<void>
  destroy(): Promise<void>
}
/** The library's session, or null: it leaves `{}` (no methods) when its cookie-path check fails. */
function librarySession(request: FastifyRequest): LibrarySession | null {
  const session = (request as unknown as { session: LibrarySession | null | undefined }).session
  return session != null && typeof session.destroy === 'function' ? session : null
}

function principalOf(data: SessionData | null | undefined): Principal | null {
  return data && typeof data.userId === 'number' && typeof data.role === 'string' ? { userId: data.userId, role: data.role } : null
}

/**
 * Server-side sessions over a backend (memory or Redis), in three profiles:
 * - defaults: @fastify/session with its defaults (rolling + saveUninitialized: every request re-saves
 *   the session and re-sends Set-Cookie), made to work over plain HTTP and given SameSite=Lax;
 * - tuned: the same with rolling and saveUninitialized off;
 * - floor: the least work that is still secure: an unsigned 192-bit random id (CSPRNG) in a cookie
 *   and one backend lookup, no plugin. A signature adds nothing to an id nobody can guess (OWASP asks
 *   for ≥ 64 bits of entropy; PHP and Tomcat do not sign theirs): it only refuses a forged id before
 *   the lookup, and a forged id costs one lookup here — a Map miss in memory, one GET in Redis —
 *   which the hostile scenario measures as the cost of a refusal.
 */
export async function setupSessionStrategy(scope: FastifyInstance, ctx: StrategyContext, backend: SessionBackend): Promise<AuthHandlers> {
  scope.addHook('onClose', async () => backend.close())
  return ctx.options.profile === 'floor' ? floorSessions(ctx, backend) : librarySessions(scope, ctx, backend)
}

/** floor: an unsigned random id in a cookie and one backend lookup; anything but the shape of an id we issue is refused before the backend is asked. */
function floorSessions({ options, users }: StrategyContext, backend: SessionBackend): AuthHandlers {
  const sidOf = (request: FastifyRequest) => {
    const raw = readCookie(request.headers.cookie, SESSION_COOKIE)
    return raw !== undefined && isSessionId(raw) ? raw : null
  }
  return {
    async login(request, reply, user) {
      const old = sidOf(request)
      if (old !== null) await backend.destroy(old) // a new id at every login: no fixation
      const sid = newSessionId()
      const data: SessionData = { userId: user.userId, role: user.role }
      const claims = users.extraClaims(user)
      if (Object.keys(claims).length > 0) data.claims = claims
      await backend.set(sid, data)
      await backend.index(user.userId, sid)
      setCookie(reply, SESSION_COOKIE, sid, { maxAgeSec: options.sessionTtlSec, secure: options.secureCookies })
      return {}
    },
    async authenticate(request) {
      const sid = sidOf(request)
      return sid === null ? null : principalOf(await backend.get(sid))
    },
    async logout(request, reply) {
      const sid = sidOf(request)
      if (sid !== null) await backend.destroy(sid)
      clearCookie(reply, SESSION_COOKIE, options.secureCookies)
    },
    revokeAll: (userId) => backend.revokeUser(userId),
  }
}

/** defaults and tuned: @fastify/session over the backend. */
async function librarySessions(scope: FastifyInstance, { options, keys, users }: StrategyContext, backend: SessionBackend): Promise<AuthHandlers> {
  async function destroyLibrarySession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const session = librarySession(request)
    if (session) await session.destroy()
    // destroy() sends no clearing cookie by itself
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: options.secureCookies })
  }

  const tuned = options.profile === 'tuned'
  // loaded here, not at the top: a server loads only its own strategy's packages (see servers/strategies/index.ts)
  const [{ default: fastifyCookie }, { default: fastifySession }] = await Promise.all([import('@fastify/cookie'), import('@fastify/session')])
  await scope.register(fastifyCookie)
  await scope.register(fastifySession, {
    secret: keys.sessionSecret,
    cookieName: SESSION_COOKIE,
    store: toLibraryStore(backend) as never,
    cookie: { secure: options.secureCookies, httpOnly: true, sameSite: 'lax', path: '/', maxAge: options.sessionTtlSec * 1000 },
    ...(tuned ? { rolling: false, saveUninitialized: false } : {}),
  })
  return {
    async login(request, _reply, user) {
      const old = librarySession(request)
      if (old === null) throw new SessionUnavailableError()
      await old.regenerate() // new id at login: no fixation
      const session = librarySession(request)!
      session.userId = user.userId
      session.role = user.role
      const claims = users.extraClaims(user)
      if (Object.keys(claims).length > 0) session.claims = claims
      await backend.index(user.userId, session.sessionId)
      return {}
    },
    // hot path: plain field reads (principalOf refuses a `{}` session as well)
    authenticate: (request) => principalOf((request as unknown as { session: SessionData | null }).session),
    logout: (request, reply) => destroyLibrarySession(request, reply),
    async revokeAll(userId, request, reply) {
      const n = await backend.revokeUser(userId)
      // The revoking request's own session is among them: destroy it through the library too, or a
      // rolling session (the defaults profile) would be saved again on the way out, resurrecting it.
      if (librarySession(request)?.userId === userId) await destroyLibrarySession(request, reply)
      return n
    },
  }
}
