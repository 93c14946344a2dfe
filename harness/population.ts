import { loginUser, type Credential } from './credentials.ts'
import type { ConnectionPlan } from './load.ts'

export interface IssuedCredential extends Credential {
  /** Index into the urls the population was logged in through. */
  urlIndex: number
}

/**
 * Logs in users 1…n (user i+1 through urls[i % urls.length]) with bounded concurrency.
 * This traffic happens before any measured window and is never counted.
 */
export async function loginPopulation(urls: readonly string[], n: number, signal?: AbortSignal, concurrency = 32): Promise<IssuedCredential[]> {
  const creds: IssuedCredential[] = new Array(n)
  let next = 0
  const worker = async () => {
    while (next < n) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted')
      const i = next++
      const urlIndex = i % urls.length
      creds[i] = { ...(await loginUser(urls[urlIndex]!, i + 1)), urlIndex }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker))
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
