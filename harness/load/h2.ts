/**
 * An HTTP/2 cleartext client (node:http2, prior knowledge) for measuring what HPACK does to a
 * credential: the same requests as over HTTP/1.1, sent on one connection, with the credential's
 * headers left to the encoder (nghttp2 indexes a cookie of ≥ 20 bytes after its first use and never
 * indexes `authorization`) or marked never-indexed (RFC 7541 §6.2.3), as a careful client marks secrets.
 */
import http2 from 'node:http2'
import { credentialFrom, type Credential } from './credentials.ts'

/** Headers HPACK must never put in its dynamic table when a credential is sent never-indexed. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie']

export interface H2Answer { status: number; setCookies: string[]; body: string }

/** Opens a session to an h2c server and resolves once it is connected. */
export function h2Connect(url: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url)
    session.once('connect', () => { session.removeListener('error', reject); resolve(session) })
    session.once('error', reject)
  })
}

/** One request on a session; `neverIndex` marks the credential headers sensitive (never-indexed literals). */
export function h2Request(session: http2.ClientHttp2Session, method: 'GET' | 'POST', path: string, headers: Record<string, string>, opts: { body?: string; neverIndex?: boolean } = {}): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const h: http2.OutgoingHttpHeaders = { ':method': method, ':path': path, ...headers }
    if (opts.neverIndex) (h as Record<symbol, unknown>)[http2.sensitiveHeaders] = CREDENTIAL_HEADERS.filter((n) => n in headers)
    const req = session.request(h)
    let status = 0
    let setCookies: string[] = []
    let body = ''
    req.on('response', (r) => {
      status = Number(r[':status'])
      const sc = r['set-cookie']
      setCookies = Array.isArray(sc) ? sc : sc ? [sc] : []
    })
    req.setEncoding('utf8')
    req.on('data', (d: string) => { body += d })
    req.on('end', () => resolve({ status, setCookies, body }))
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** Logs user<i> in over HTTP/2 (the server keeps its own sessions: log in where the requests go). */
export async function h2Login(url: string, i: number, extra: Record<string, unknown> = {}): Promise<Credential> {
  const session = await h2Connect(url)
  try {
    const r = await h2Request(session, 'POST', '/login', { 'content-type': 'application/json' }, { body: JSON.stringify({ username: `user${i}`, password: `pw-user${i}`, ...extra }) })
    if (r.status !== 200) throw new Error(`HTTP/2 login of user${i} failed: ${r.status} ${r.body}`)
    return credentialFrom(r.setCookies, JSON.parse(r.body) as Record<string, unknown>)
  } finally {
    session.close()
  }
}

export function h2Close(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => session.close(() => resolve()))
}
