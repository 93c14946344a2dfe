import { createHash, timingSafeEqual } from 'node:crypto'
import type { ClaimSet } from './config.ts'

/**
 * Synthetic users user1…userN, password `pw-user<i>`, every 10th an admin.
 *
 * Password checking deliberately does not use a slow password hash (bcrypt, argon2): that cost is
 * the same for every strategy and would drown the cost of issuing the credential, which is what
 * authbench measures. Instead the SHA-256 digest of the submitted password is compared in constant
 * time (timingSafeEqual) with the digest of the user's password, computed per check (≈ 1 µs) rather
 * than for every user at start: 20 000 users took 140 ms of each server's start, and a table filled
 * lazily would grow the heap the memory scenario reads.
 */
export interface User {
  userId: number
  username: string
  role: 'admin' | 'user'
  /** Claim set asked for at login (a benchmark knob: what the credential carries), else the server's. */
  claimSet?: ClaimSet
}

export interface Principal {
  userId: number
  role: string
}

export interface UserDirectory {
  count: number
  /** Returns the user when the password matches, else null. Constant time in the password. */
  checkPassword(username: unknown, password: unknown): User | null
  byId(userId: number): User | null
  /** The claims a credential carries for this user (session data or token payload), beyond sub/role: the user's claimSet, else the server's. */
  extraClaims(user: User): Record<string, unknown>
}

export function userPassword(i: number): string {
  return `pw-user${i}`
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest()
}

export function createUserDirectory(count: number, claims: ClaimSet): UserDirectory {
  const dummy = 'never-a-password'

  function byId(userId: number): User | null {
    if (!Number.isInteger(userId) || userId < 1 || userId > count) return null
    return { userId, username: `user${userId}`, role: userId % 10 === 0 ? 'admin' : 'user' }
  }

  return {
    count,
    byId,
    checkPassword(username, password) {
      if (typeof username !== 'string' || typeof password !== 'string') return null
      const m = /^user([1-9][0-9]{0,8})$/.exec(username)
      const user = m ? byId(Number(m[1])) : null
      const expected = digest(user ? userPassword(user.userId) : dummy)
      const ok = timingSafeEqual(digest(password), expected)
      return ok && user ? user : null
    },
    extraClaims: (user) => claimSet(user, user.claimSet ?? claims),
  }
}

const PERMISSIONS = Array.from({ length: 50 }, (_, i) => `resource${String(i).padStart(2, '0')}:read`)

function claimSet(user: User, claims: ClaimSet): Record<string, unknown> {
  if (claims === 'small') return {}
  const typical = {
    name: `User ${user.userId}`,
    email: `user${user.userId}@example.com`,
    tenant: 'acme',
    scope: 'profile email',
    locale: 'en-GB',
    plan: 'pro',
  }
  return claims === 'typical' ? typical : { ...typical, permissions: PERMISSIONS }
}
