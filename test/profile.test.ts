/**
 * `npm run profile`: the attribution of a CPU profile's samples to packages (pure, on a synthetic
 * profile), and the command end to end on a real server: a .cpuprofile and a per-package table.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { attribute, categoryOf, type CpuProfile } from '../harness/measure/cpuprofile.ts'

describe('CPU profile attribution', () => {
  it('names packages, node internals, GC and our own code', () => {
    expect(categoryOf('file:///app/node_modules/fast-jwt/src/verifier.js', 'verify')).toBe('fast-jwt')
    expect(categoryOf('file:///app/node_modules/@fastify/jwt/jwt.js', 'x')).toBe('@fastify/jwt')
    expect(categoryOf('node:internal/crypto/hash', 'digest')).toBe('node:crypto')
    expect(categoryOf('node:_http_server', 'x')).toBe('node: http/net/streams')
    expect(categoryOf('file:///app/servers/app.ts', 'handler')).toBe('authbench')
    expect(categoryOf('', '(garbage collector)')).toBe('GC')
    expect(categoryOf('', 'Hmac')).toBeNull() // native: its caller decides
  })

  it('counts only the samples inside the window, gives a native frame to its caller, skips idle, divides by requests', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '' }, children: [2, 4, 5] },
        { id: 2, callFrame: { functionName: 'verify', url: 'file:///a/node_modules/fast-jwt/src/verifier.js' }, children: [3] },
        { id: 3, callFrame: { functionName: 'Hmac', url: '' } },
        { id: 4, callFrame: { functionName: '(idle)', url: '' } },
        { id: 5, callFrame: { functionName: '(garbage collector)', url: '' } },
      ],
      // samples at 1000, 2000, 3000, 4000, 5000, 6000 µs; each lasts until the next
      startTime: 0, endTime: 7000, samples: [3, 3, 2, 4, 5, 2], timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000],
    }
    const a = attribute(profile, 2000, 5000, 10)
    // in the window: 2000 (Hmac → fast-jwt), 3000 (fast-jwt), 4000 (idle: skipped), 5000 (GC)
    expect(Object.fromEntries(a.byCategory)).toEqual({ 'fast-jwt': 200, GC: 100 })
    expect(a.totalMicrosPerRequest).toBe(300)
  })
})

describe('npm run profile', { timeout: 120_000 }, () => {
  it('profiles a strategy under load and prints CPU µs per request by package, with the .cpuprofile written', () => {
    const out = mkdtempSync(join(tmpdir(), 'authbench-profile-'))
    const r = spawnSync('npm', ['run', '--silent', 'profile', '--', '--strategy', 'jwt', '--profile', 'floor', '--duration', '1', '--users', '200', '--out', out], { encoding: 'utf8', env: { ...process.env, REDIS_URL: '' } })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/CPU µs per request, by where the profiler found it/)
    expect(r.stdout).toMatch(/^fast-jwt\s+[\d.]+\s+0\.00\s+[\d.]+$/m) // the auth library, only on /me
    expect(r.stdout).toMatch(/total \(process\.cpuUsage\)/)
    const run = readdirSync(out).find((d) => d.endsWith('-profile'))!
    const files = readdirSync(join(out, run, 'profiles'))
    expect(files).toEqual(expect.arrayContaining(['jwt-floor-HS256.cpuprofile', 'jwt-floor-HS256.attribution.json']))
    const profile = JSON.parse(readFileSync(join(out, run, 'profiles', 'jwt-floor-HS256.cpuprofile'), 'utf8')) as CpuProfile
    expect(profile.samples.length).toBeGreaterThan(100)
  })

  it('refuses a bad option with one line and exit code 2, and says how to get clinic when it is missing', () => {
    const bad = spawnSync('npm', ['run', '--silent', 'profile', '--', '--strategy', 'kerberos'], { encoding: 'utf8' })
    expect(bad.status).toBe(2)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    const flame = spawnSync('npm', ['run', '--silent', 'profile', '--', '--strategy', 'jwt', '--tool', 'flame'], { encoding: 'utf8', env: { ...process.env, AUTHBENCH_CLINIC: '/nonexistent/clinic' } })
    expect(flame.status).toBe(2)
    expect(flame.stderr.trim().split('\n')).toHaveLength(1)
    expect(flame.stderr).toMatch(/--tool flame needs clinic, which is optional: npm run clinic:install .*--tool cpu works without it/)
  })

  const clinicInstalled = existsSync(new URL('../tools/clinic/node_modules/.bin/clinic', import.meta.url))
  it(`runs a strategy under clinic doctor and keeps its HTML beside the other profiles${clinicInstalled ? '' : ' (SKIPPED: clinic not installed; npm run clinic:install)'}`, { skip: !clinicInstalled }, () => {
    const out = mkdtempSync(join(tmpdir(), 'authbench-clinic-'))
    const r = spawnSync('npm', ['run', '--silent', 'profile', '--', '--strategy', 'jwt', '--tool', 'doctor', '--duration', '1', '--users', '200', '--out', out], { encoding: 'utf8', env: { ...process.env, REDIS_URL: '' } })
    expect(r.status, r.stderr).toBe(0)
    const run = readdirSync(out).find((d) => d.endsWith('-profile'))!
    const html = join(out, run, 'profiles', 'jwt-tuned-HS256.clinic-doctor.html')
    expect(readFileSync(html, 'utf8')).toMatch(/<html/i)
  })
})
