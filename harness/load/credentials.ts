/**
 * Turns a login answer into what a client sends on later requests: the cookies it was given
 * (name=value only) and/or `Authorization: Bearer <accessToken>`. Used by the load runner and the tests.
 */
export interface Credential {
  userId: number
  /** Headers to send with authenticated requests. */
  headers: Record<string, string>
  cookies: Record<string, string>
  accessToken?: string
  refreshToken?: string
}

/** name → value of each Set-Cookie; a cleared cookie (Max-Age=0 or empty value) removes the name. */
export function applySetCookies(jar: Record<string, string>, setCookies: readonly string[]): Record<string, string> {
  const next = { ...jar }
  for (const sc of setCookies) {
    const pair = sc.split(';', 1)[0] ?? ''
    const eq = pair.indexOf('=')
    if (eq <= 0) continue
    const name = pair.slice(0, eq).trim()
    const value = pair.slice(eq + 1).trim()
    if (value === '' || /;\s*max-age=0(\s*;|$)/i.test(sc)) delete next[name]
    else next[name] = value
  }
  return next
}

export function cookieHeader(jar: Record<string, string>): string {
  return Object.entries(jar).map(([k, v]) => `${k}=${v}`).join('; ')
}

export function credentialFrom(setCookies: readonly string[], body: { userId?: number; accessToken?: unknown; refreshToken?: unknown }, jar: Record<string, string> = {}): Credential {
  const cookies = applySetCookies(jar, setCookies)
  const headers: Record<string, string> = {}
  if (Object.keys(cookies).length > 0) headers.cookie = cookieHeader(cookies)
  const accessToken = typeof body.accessToken === 'string' ? body.accessToken : undefined
  if (accessToken) headers.authorization = `Bearer ${accessToken}`
  return {
    userId: body.userId ?? 0,
    headers,
    cookies,
    ...(accessToken ? { accessToken } : {}),
    ...(typeof body.refreshToken === 'string' ? { refreshToken: body.refreshToken } : {}),
  }
}

/** Logs user<i> in over real HTTP (`extra` joins the body, e.g. `{ claims: 'large' }`). Throws unless the server answers 200. */
export async function loginUser(baseUrl: string, i: number, extra: Record<string, unknown> = {}): Promise<Credential> {
  const res = await fetch(`${baseUrl}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: `user${i}`, password: `pw-user${i}`, ...extra }),
  })
  const body = (await res.json()) as Record<string, unknown>
  if (res.status !== 200) throw new Error(`login of user${i} failed: ${res.status} ${JSON.stringify(body)}`)
  return credentialFrom(res.headers.getSetCookie(), body)
}
