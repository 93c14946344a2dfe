/**
 * The stats endpoint (`--stats-port`) of a real server process: a token or nothing, never on the port
 * that serves /me, bound to loopback by default, and its figures are the server's own (requests the
 * app answered, not its own).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'
import { describe, expect, it, onTestFinished } from 'vitest'
import { serverBundle } from '../harness/processes/server-bundle.ts'
import { statsToken } from '../servers/secrets.ts'
import { STATS_PATH } from '../servers/stats-endpoint.ts'

const SECRET = 'stats-endpoint-test-secret-0123456789'

interface Ready { port: number; statsPort: number; statsHost: string }

/** A server process with a stats port; resolves with its ready line. */
function startWithStats(extra: string[] = [], env: Record<string, string> = { AUTHBENCH_SECRET: SECRET }): Promise<{ ready: Ready; child: ChildProcess }> {
  const child = spawn(process.execPath, [serverBundle(), '--strategy', 'jwt', '--port', '0', '--stats-port', '0', ...extra], {
    env: { ...process.env, AUTHBENCH_SECRET: '', AUTHBENCH_STATS_TOKEN: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  })
  onTestFinished(() => { child.kill('SIGKILL') })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as Ready & { event: string }
      if (m.event === 'ready') resolve({ ready: m, child })
    })
  })
}

const get = async (port: number, path: string, token?: string, host = '127.0.0.1') => {
  const res = await fetch(`http://${host}:${port}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {})
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('the stats endpoint', () => {
  it('answers GET /stats with the token, and 401 with a JSON body without it or with another', async () => {
    const { ready } = await startWithStats()
    const token = statsToken({ AUTHBENCH_SECRET: SECRET })!
    expect(await get(ready.statsPort, STATS_PATH)).toEqual({ status: 401, body: { error: 'unauthorized' } })
    expect((await get(ready.statsPort, STATS_PATH, `${token}x`)).status).toBe(401)
    expect((await get(ready.statsPort, STATS_PATH, SECRET)).status).toBe(401) // the secret itself is not the token
    const ok = await get(ready.statsPort, STATS_PATH, token)
    expect(ok.status).toBe(200)
    for (const k of ['cpuUserMicros', 'cpuSystemMicros', 'requestsTotal', 'bytesReadTotal', 'bytesWrittenTotal', 'heapUsedBytes', 'gcPauseMsTotal', 'openConnections']) {
      expect(typeof ok.body[k], k).toBe('number')
    }
    expect((await get(ready.statsPort, '/me', token)).status).toBe(404) // it answers nothing else
    const post = await fetch(`http://127.0.0.1:${ready.statsPort}${STATS_PATH}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    expect(post.status).toBe(405)
  }, 30_000)

  it('is not on the port that serves /me, and counts the app\'s requests, not its own', async () => {
    const { ready } = await startWithStats()
    const token = statsToken({ AUTHBENCH_SECRET: SECRET })!
    expect((await get(ready.port, STATS_PATH, token)).status).toBe(404)
    const before = (await get(ready.statsPort, STATS_PATH, token)).body
    for (let i = 0; i < 5; i++) await get(ready.port, '/health')
    for (let i = 0; i < 3; i++) await get(ready.statsPort, STATS_PATH, token)
    const after = (await get(ready.statsPort, STATS_PATH, token)).body
    // five /health answered by the app; the stats requests are not among them
    expect((after.requestsTotal as number) - (before.requestsTotal as number)).toBe(5)
  }, 30_000)

  it('binds to 127.0.0.1 by default: another loopback address is refused', async () => {
    const { ready } = await startWithStats()
    expect(ready.statsHost).toBe('127.0.0.1')
    const refused = await new Promise<string>((resolve) => {
      const s = connect({ host: '127.0.0.2', port: ready.statsPort })
      s.once('connect', () => { s.destroy(); resolve('connected') })
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
    })
    expect(refused).toBe('ECONNREFUSED')
  }, 30_000)

  it('takes AUTHBENCH_STATS_TOKEN as given, and refuses to start without any token, in one line with exit code 2', async () => {
    const given = 'a-stats-token-given-in-env'
    const { ready } = await startWithStats([], { AUTHBENCH_STATS_TOKEN: given })
    expect((await get(ready.statsPort, STATS_PATH, given)).status).toBe(200)
    const child = spawn(process.execPath, [serverBundle(), '--strategy', 'jwt', '--port', '0', '--stats-port', '0'], {
      env: { ...process.env, AUTHBENCH_SECRET: '', AUTHBENCH_STATS_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(code).toBe(2)
    expect(stderr.trim().split('\n').filter((l) => !l.includes('warning'))).toEqual([expect.stringMatching(/--stats-port needs a token/)])
  }, 30_000)

  it('refuses a stats port equal to the service port', async () => {
    const child = spawn(process.execPath, [serverBundle(), '--strategy', 'jwt', '--port', '3917', '--stats-port', '3917'], {
      env: { ...process.env, AUTHBENCH_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
    expect(await new Promise<number | null>((resolve) => child.once('exit', resolve))).toBe(2)
    expect(stderr).toMatch(/--stats-port must differ from --port/)
  }, 30_000)
})
