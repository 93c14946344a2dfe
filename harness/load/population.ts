import { Agent, request } from 'node:http'
import { credentialFrom, type Credential } from './credentials.ts'
import type { ConnectionPlan } from './load.ts'

export interface IssuedCredential extends Credential {
  /** Index into the urls the population was logged in through. */
  urlIndex: number
}

/** POST /login for user<i> over a keep-alive agent; throws unless the server answers 200 (as `loginUser`). */
function login(agent: Agent, baseUrl: string, i: number): Promise<Credential> {
  const base = new URL(baseUrl)
  const body = JSON.stringify({ username: `user${i}`, password: `pw-user${i}` })
  return new Promise((resolve, reject) => {
    const req = request({
      agent, host: base.hostname, port: base.port, method: 'POST', path: '/login',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { text += d })
      res.on('error', reject)
      res.on('end', () => {
        try {
          if (res.statusCode !== 200) throw new Error(`login of user${i} failed: ${res.statusCode} ${text}`)
          resolve(credentialFrom(res.headers['set-cookie'] ?? [], JSON.parse(text) as Record<string, unknown>))
        } catch (err) {
          reject(err)
        }
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * Logs in users 1…n (user i+1 through urls[i % urls.length]) with bounded concurrency, over
 * keep-alive connections (node:http: several times the rate of fetch, whose client CPU was the
 * bottleneck). This traffic happens before any measured window and is never counted.
 */
export async function loginPopulation(urls: readonly string[], n: number, signal?: AbortSignal, opts: { concurrency?: number; firstUser?: number } = {}): Promise<IssuedCredential[]> {
  const concurrency = opts.concurrency ?? 64
  const firstUser = opts.firstUser ?? 1
  const creds: IssuedCredential[] = new Array(n)
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  let next = 0
  const worker = async () => {
    while (next < n) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted')
      const i = next++
      const urlIndex = i % urls.length
      creds[i] = { ...(await login(agent, urls[urlIndex]!, firstUser + i)), urlIndex }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker))
  } finally {
    agent.destroy()
  }
  return creds
}

/**
 * Splits the population over connections: connection k goes to urls[k % urls.length] and cycles
 * through its own share of the users logged in through that url. /me and /health carry the same
 * credential headers, so both send the same bytes and differ only in the auth work.
 */
export function connectionPlans(urls: readonly string[], creds: readonly IssuedCredential[], connections: number, path: string): ConnectionPlan[] {
  const plans: ConnectionPlan[] = []
  for (let k = 0; k < connections; k++) plans.push({ url: urls[k % urls.length]!, requests: [] })
  for (let u = 0; u < urls.length; u++) {
    const mine = plans.filter((_, k) => k % urls.length === u)
    creds.filter((c) => c.urlIndex === u).forEach((cred, i) => {
      mine[i % mine.length]?.requests.push({ method: 'GET', path, headers: cred.headers })
    })
  }
  return plans.filter((p) => p.requests.length > 0)
}
