import { createPrivateKey, createPublicKey, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ConfigError, type JwtAlgorithm } from './config.ts'

/**
 * Key material for one instance. Every symmetric key is derived (HKDF-SHA256) from
 * AUTHBENCH_SECRET so that all instances of a run accept each other's credentials.
 * JWT_SECRET, when set, is the HS* key exactly as given (outside tools can mint tokens).
 * Asymmetric keys come from AUTHBENCH_JWT_PRIVATE_KEY_FILE / AUTHBENCH_JWT_PUBLIC_KEY_FILE
 * (PEM) or are generated at start. Nothing secret is ever written by the server.
 */
export interface KeyMaterial {
  /** Signs session-id cookies (HMAC-SHA256); 64 hex chars. */
  sessionSecret: string
  /** HS* JWT key. */
  hmacKey: Buffer
  /** Asymmetric JWT pair, when the algorithm is RS256/ES256/EdDSA. */
  jwtPrivateKey: KeyObject | null
  jwtPublicKey: KeyObject | null
  /** 32-byte key for @fastify/secure-session (XSalsa20-Poly1305). */
  secureSessionKey: Buffer
  /** Warnings about keys that are not shared between instances. */
  warnings: string[]
}

export type SecretEnv = Partial<Record<'AUTHBENCH_SECRET' | 'JWT_SECRET' | 'AUTHBENCH_JWT_PRIVATE_KEY_FILE' | 'AUTHBENCH_JWT_PUBLIC_KEY_FILE', string>>

/** HS256 key length floor (RFC 7518 §3.2). */
export const MIN_JWT_SECRET_BYTES = 32

function derive(root: Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', root, 'authbench', label, 32))
}

/** The variables the stats endpoint's token comes from. */
export type StatsTokenEnv = Partial<Record<'AUTHBENCH_SECRET' | 'AUTHBENCH_STATS_TOKEN', string>>

/**
 * The bearer token of the stats endpoint (--stats-port): AUTHBENCH_STATS_TOKEN as given, else derived
 * from AUTHBENCH_SECRET (HKDF, its own label), so that a harness that knows the run secret knows it
 * and the token reveals nothing of the secret; null when neither is set.
 */
export function statsToken(env: StatsTokenEnv): string | null {
  if (env.AUTHBENCH_STATS_TOKEN) {
    if (env.AUTHBENCH_STATS_TOKEN.length < 16) throw new ConfigError('AUTHBENCH_STATS_TOKEN must be at least 16 characters')
    return env.AUTHBENCH_STATS_TOKEN
  }
  return env.AUTHBENCH_SECRET ? derive(Buffer.from(env.AUTHBENCH_SECRET), 'stats-token').toString('hex') : null
}

export function loadKeyMaterial(env: SecretEnv, alg: JwtAlgorithm): KeyMaterial {
  const warnings: string[] = []
  let root: Buffer
  if (env.AUTHBENCH_SECRET) {
    if (env.AUTHBENCH_SECRET.length < 16) throw new ConfigError('AUTHBENCH_SECRET must be at least 16 characters')
    root = Buffer.from(env.AUTHBENCH_SECRET)
  } else {
    root = randomBytes(32)
    warnings.push('AUTHBENCH_SECRET is not set: generated a random secret, so other instances will not accept this one\'s credentials')
  }
  if (env.JWT_SECRET && Buffer.byteLength(env.JWT_SECRET) < MIN_JWT_SECRET_BYTES) {
    // RFC 7518 §3.2: an HS256 key must be at least as long as the hash output
    throw new ConfigError(`JWT_SECRET must be at least ${MIN_JWT_SECRET_BYTES} bytes (RFC 7518 §3.2: HS256 keys ≥ 256 bits), got ${Buffer.byteLength(env.JWT_SECRET)}`)
  }
  const hmacKey = env.JWT_SECRET ? Buffer.from(env.JWT_SECRET) : derive(root, 'jwt-hs')
  let jwtPrivateKey: KeyObject | null = null
  let jwtPublicKey: KeyObject | null = null
  if (alg !== 'HS256') {
    const privFile = env.AUTHBENCH_JWT_PRIVATE_KEY_FILE
    const pubFile = env.AUTHBENCH_JWT_PUBLIC_KEY_FILE
    if (privFile && pubFile) {
      try {
        jwtPrivateKey = createPrivateKey(readFileSync(privFile))
        jwtPublicKey = createPublicKey(readFileSync(pubFile))
      } catch (err) {
        throw new ConfigError(`cannot read JWT key files: ${(err as Error).message}`)
      }
      checkKeyType(alg, jwtPrivateKey)
    } else {
      const pair = generateJwtKeyPair(alg)
      jwtPrivateKey = pair.privateKey
      jwtPublicKey = pair.publicKey
      warnings.push(`no AUTHBENCH_JWT_PRIVATE_KEY_FILE/AUTHBENCH_JWT_PUBLIC_KEY_FILE: generated a ${alg} key pair, so other instances will not accept this one's tokens`)
    }
  }
  return {
    sessionSecret: derive(root, 'session-cookie').toString('hex'),
    hmacKey,
    jwtPrivateKey,
    jwtPublicKey,
    secureSessionKey: derive(root, 'secure-session'),
    warnings,
  }
}

export function generateJwtKeyPair(alg: JwtAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (alg) {
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 })
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' })
    case 'EdDSA':
      return generateKeyPairSync('ed25519')
    default:
      throw new ConfigError(`${alg} is symmetric: it has no key pair`)
  }
}

function checkKeyType(alg: JwtAlgorithm, key: KeyObject): void {
  const expected = { HS256: 'secret', RS256: 'rsa', ES256: 'ec', EdDSA: 'ed25519' }[alg]
  if (key.asymmetricKeyType !== expected) {
    throw new ConfigError(`JWT key file holds a ${key.asymmetricKeyType} key but --alg ${alg} needs ${expected}`)
  }
}
