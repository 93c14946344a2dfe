import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { Profile, ServerOptions, StrategyName } from '../config.ts'
import type { KeyMaterial } from '../secrets.ts'
import type { Principal, User, UserDirectory } from '../users.ts'

/** What a strategy is given to build itself. */
export interface StrategyContext {
  options: Readonly<ServerOptions>
  keys: KeyMaterial
  users: UserDirectory
  /** Connected client when the strategy needs Redis (key prefix already applied), else null. */
  redis: Redis | null
}

/** Extra JSON fields a login or refresh answers with (tokens); cookie strategies set cookies on the reply. */
export type CredentialBody = Record<string, unknown>

/**
 * What differs between strategies: the app factory mounts identical routes over these.
 * `authenticate` is the hot path measured by every benchmark: it returns the principal or null (→ 401).
 */
export interface AuthHandlers {
  login(request: FastifyRequest, reply: FastifyReply, user: User): Promise<CredentialBody>
  authenticate(request: FastifyRequest, reply: FastifyReply): Principal | null | Promise<Principal | null>
  /** Invalidates the credential where the strategy can, and clears cookies client-side. */
  logout(request: FastifyRequest, reply: FastifyReply): Promise<void>
  /** `refresh` only: rotates a refresh token; null → 401. */
  refresh?(request: FastifyRequest, reply: FastifyReply): Promise<CredentialBody | null>
  /**
   * Revokes every credential of one user; returns how many were revoked. Absent where impossible.
   * `request` is the revoking request, whose own credential may be among those revoked.
   */
  revokeAll?(userId: number, request: FastifyRequest, reply: FastifyReply): Promise<number>
}

export interface StrategyDefinition {
  name: StrategyName
  /** One line: what the strategy is. */
  description: string
  profiles: readonly Profile[]
  needsRedis: boolean
  /** The server keeps per-credential state (and so can refuse a credential after logout). */
  stateful: boolean
  /** Where the client carries the credential. */
  carrier: 'cookie' | 'bearer'
  /**
   * Some route reads a credential from a cookie, which a browser attaches by itself: every cookie
   * carrier, and refresh (whose refresh token may come in a cookie). Its state-changing routes get
   * the cross-site guard (servers/app.ts).
   */
  readsCookies: boolean
  /** `POST /users/:id/revoke-all` can end every credential of a user (else it answers 501). */
  canRevokeAll: boolean
  /**
   * The mechanism the credential rests on: a server-side session looked up by id, a signed JWT, or
   * session data sealed in an encrypted cookie. Reports and verdicts group strategies by it.
   */
  family: 'server-session' | 'jwt' | 'encrypted-cookie'
  /** Which of the article's hybrids this is (a pure session or a pure JWT: null). */
  hybrid: string | null
  /** Runs inside an encapsulated plugin scope holding the auth routes only (never /health). */
  setup(scope: FastifyInstance, ctx: StrategyContext): Promise<AuthHandlers>
}
