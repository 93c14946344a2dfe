import type { FastifyReply } from 'fastify'

/**
 * Cookie primitives for the `floor` profiles: what a cookie-carried credential needs at least,
 * written directly (no @fastify/cookie hook parsing every cookie of every request).
 */

/** Value of cookie `name` in a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  const needle = name + '='
  let at = header.indexOf(needle)
  while (at !== -1) {
    if (at === 0 || header.charCodeAt(at - 1) === 0x20 || header.charCodeAt(at - 1) === 0x3b) {
      const start = at + needle.length
      const end = header.indexOf(';', start)
      return end === -1 ? header.slice(start) : header.slice(start, end)
    }
    at = header.indexOf(needle, at + 1)
  }
  return undefined
}

export interface CookieAttributes {
  maxAgeSec: number
  secure: boolean
}

/** Appends a Set-Cookie header: HttpOnly, SameSite=Lax, Path=/, Secure when asked. */
export function setCookie(reply: FastifyReply, name: string, value: string, attrs: CookieAttributes): void {
  const cookie = `${name}=${value}; Max-Age=${attrs.maxAgeSec}; Path=/; HttpOnly; SameSite=Lax${attrs.secure ? '; Secure' : ''}`
  const prev = reply.getHeader('set-cookie')
  if (prev === undefined) reply.header('set-cookie', cookie)
  else reply.header('set-cookie', ([] as string[]).concat(prev as string | string[], cookie))
}

export function clearCookie(reply: FastifyReply, name: string, secure: boolean): void {
  const cookie = `${name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`
  const prev = reply.getHeader('set-cookie')
  if (prev === undefined) reply.header('set-cookie', cookie)
  else reply.header('set-cookie', ([] as string[]).concat(prev as string | string[], cookie))
}
