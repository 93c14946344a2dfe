import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Principal } from '../users.ts'
import { readCookie, setCookie, clearCookie } from './cookies.ts'
import type { StrategyContext } from './types.ts'

export const TOKEN_COOKIE = 'token'

/** The claims every authbench token carries; `jti`/`fam` where a strategy needs them. */
export interface TokenClaims {
  sub: string
  role: string
  iat: number
  exp: number
  jti?: string
  fam?: string
  [claim: string]: unknown
}

/** Signs and verifies access tokens and reads them from the carrier (Authorization header or cookie). */
export interface JwtEngine {
  sign(payload: Record<string, unknown>): string | Promise<string>
  /** The verified claims, or null for a missing, invalid, expired or ill-typed token. */
  verify(request: FastifyRequest): TokenClaims | null | Promise<TokenClaims | null>
  /** Hands a freshly signed token to the client: a cookie, or nothing (bearer: it goes in the body). */
  deliver(reply: FastifyReply, token: string): void
  clear(reply: FastifyReply): void
}

export const REQUIRED_CLAIMS = ['sub', 'role', 'iat', 'exp', 'aud']

/** Structural check of a verified payload: missing or ill-typed claims are a rejected credential. */
export function asTokenClaims(payload: unknown): TokenClaims | null {
  if (typeof payload !== 'object' || payload === null) return null
  const p = payload as Record<string, unknown>
  if (typeof p.sub !== 'string' || !/^[1-9][0-9]{0,8}$/.test(p.sub)) return null
  if (typeof p.role !== 'string' || typeof p.exp !== 'number' || typeof p.iat !== 'number') return null
  if (p.jti !== undefined && typeof p.jti !== 'string') return null
  if (p.fam !== undefined && typeof p.fam !== 'string') return null
  return p as TokenClaims
}

export function principalOf(claims: TokenClaims): Principal {
  return { userId: Number(claims.sub), role: claims.role }
}

function keysFor(ctx: StrategyContext): { signKey: string | Buffer; verifyKey: string | Buffer } {
  const { keys, options } = ctx
  if (options.alg === 'HS256') return { signKey: keys.hmacKey, verifyKey: keys.hmacKey }
  return {
    signKey: keys.jwtPrivateKey!.export({ type: 'pkcs8', format: 'pem' }) as string,
    verifyKey: keys.jwtPublicKey!.export({ type: 'spki', format: 'pem' }) as string,
  }
}

/** Entries of the verified-token cache of `tuned` (@fastify/jwt's `verify.cache: true`, fast-jwt's default size) and `floor`. */
export const VERIFY_CACHE_ENTRIES = 1000

/**
 * Builds the JWT engine for a profile:
 * - floor: fast-jwt called directly, token read straight from the header/cookie, no plugin hooks, and
 *   verified tokens cached (VERIFY_CACHE_ENTRIES, each entry only until its token's exp) under the
 *   token string itself. fast-jwt's default cache key is a SHA-256 of the token (hashToken): for HS256
 *   that costs about what the verification it saves does, which is why `tuned`'s cache buys nothing;
 *   the token as its own key costs a Map lookup and ≈ 200 B per entry. What must never be cached —
 *   a denylist or any revocation check — is not in here: it runs after, on every request;
 * - defaults: @fastify/jwt with its defaults (no verify cache);
 * - tuned: @fastify/jwt with fast-jwt's verify cache (1000-entry LRU, bounded by each token's exp).
 * Every profile pins the algorithm and requires sub, role, iat and exp, and binds each token to the
 * strategy that issued it (`aud`): under one key, a token revoked by one strategy (say jwt-denylist's
 * logout) must not be accepted by another that knows nothing of that revocation (RFC 8725 §3.9).
 */
export async function createJwtEngine(scope: FastifyInstance, ctx: StrategyContext, carrier: 'bearer' | 'cookie', ttlSec: number): Promise<JwtEngine> {
  const secure = ctx.options.secureCookies
  const delivery: Pick<JwtEngine, 'deliver' | 'clear'> = carrier === 'cookie'
    ? { deliver: (reply, token) => setCookie(reply, TOKEN_COOKIE, token, { maxAgeSec: ttlSec, secure }), clear: (reply) => clearCookie(reply, TOKEN_COOKIE, secure) }
    : { deliver: () => {}, clear: () => {} }
  const codec = ctx.options.profile === 'floor' ? await floorCodec(ctx, carrier, ttlSec) : await pluginCodec(scope, ctx, carrier, ttlSec)
  return { ...codec, ...delivery }
}

type JwtCodec = Pick<JwtEngine, 'sign' | 'verify'>

/** floor: fast-jwt called directly, the token read straight from the header or cookie, verified tokens cached under the token itself. */
async function floorCodec(ctx: StrategyContext, carrier: 'bearer' | 'cookie', ttlSec: number): Promise<JwtCodec> {
  const { options } = ctx
  const { signKey, verifyKey } = keysFor(ctx)
  // loaded here, not at the top: a server loads only its own strategy's packages (see servers/strategies/index.ts)
  const { createSigner, createVerifier } = await import('fast-jwt')
  const signer = createSigner({ key: signKey, algorithm: options.alg, expiresIn: ttlSec * 1000, aud: options.strategy })
  const verifier = createVerifier({ key: verifyKey, algorithms: [options.alg], requiredClaims: REQUIRED_CLAIMS, allowedAud: options.strategy, cache: VERIFY_CACHE_ENTRIES, cacheKeyBuilder: (token: string) => token })
  const tokenOf = carrier === 'cookie'
    ? (request: FastifyRequest) => readCookie(request.headers.cookie, TOKEN_COOKIE)
    : (request: FastifyRequest) => {
        const h = request.headers.authorization
        return h !== undefined && h.startsWith('Bearer ') ? h.slice(7) : undefined
      }
  return {
    sign: (payload) => signer(payload),
    verify(request) {
      const token = tokenOf(request)
      if (!token) return null
      try {
        return asTokenClaims(verifier(token))
      } catch {
        return null
      }
    },
  }
}

/** defaults and tuned: @fastify/jwt (tuned with fast-jwt's verify cache). */
async function pluginCodec(scope: FastifyInstance, ctx: StrategyContext, carrier: 'bearer' | 'cookie', ttlSec: number): Promise<JwtCodec> {
  const { options } = ctx
  const { signKey, verifyKey } = keysFor(ctx)
  const [{ default: fastifyJwt }, { default: fastifyCookie }] = await Promise.all([import('@fastify/jwt'), import('@fastify/cookie')])
  if (carrier === 'cookie') await scope.register(fastifyCookie)
  await scope.register(fastifyJwt, {
    secret: options.alg === 'HS256' ? signKey : { private: signKey, public: verifyKey },
    sign: { algorithm: options.alg, expiresIn: `${ttlSec}s`, aud: options.strategy },
    verify: {
      algorithms: [options.alg],
      requiredClaims: REQUIRED_CLAIMS,
      allowedAud: options.strategy,
      ...(options.profile === 'tuned' ? { cache: true } : {}),
      ...(carrier === 'cookie' ? { onlyCookie: true } : {}),
    },
    ...(carrier === 'cookie' ? { cookie: { cookieName: TOKEN_COOKIE, signed: false } } : {}),
  } as never)
  return {
    sign: (payload) => scope.jwt.sign(payload),
    async verify(request) {
      try {
        return asTokenClaims(await request.jwtVerify())
      } catch {
        return null
      }
    },
  }
}
