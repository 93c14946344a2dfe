import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from './ports.ts'
import { spawnOwned, stopChild, type ChildOwner } from './children.ts'
import type { BalancerInfo } from '../results/results.ts'

export type BalancerKind = 'auto' | 'haproxy' | 'nginx'

export interface Balancer {
  kind: 'haproxy' | 'nginx'
  version: string
  url: string
  pid: number
  /** Cookie the balancer sets for sticky routing (haproxy sticky mode), else null. */
  stickyCookie: string | null
  log(): string
  stop(): Promise<void>
}

export const STICKY_COOKIE = 'AB_LB'

const versions = new Map<'haproxy' | 'nginx', string | null>()

/**
 * The installed version of one balancer, or null when it is not on PATH (or does not run). Asked once
 * per process: a run starts dozens of balancers, and each spawnSync stalls the load generator's thread.
 */
export function balancerVersion(kind: 'haproxy' | 'nginx'): string | null {
  if (!versions.has(kind)) {
    const r = spawnSync(kind, ['-v'], { encoding: 'utf8' })
    const text = `${r.stdout}${r.stderr}`
    versions.set(kind, r.error || r.status !== 0 ? null : (kind === 'haproxy' ? /HAProxy version (\S+)/ : /nginx\/(\S+)/).exec(text)?.[1] ?? text.trim())
  }
  return versions.get(kind)!
}

/** Which real balancer this machine has: HAProxy first (it can do cookie-sticky routing), then nginx. */
export function detectBalancer(): { kind: 'haproxy' | 'nginx'; version: string } | null {
  for (const kind of ['haproxy', 'nginx'] as const) {
    const version = balancerVersion(kind)
    if (version) return { kind, version }
  }
  return null
}

/** The balancer in front of a cell's `instances` instances (null: none was started). */
export function balancerInfo(balancer: Pick<Balancer, 'kind' | 'version'> | null, instances: number): BalancerInfo {
  if (balancer) return { kind: balancer.kind, version: balancer.version }
  return { kind: instances > 1 ? 'multi-url' : 'none', version: null }
}

/** The run-level record: a real balancer if any cell had one (the first seen), else multi-URL if any cell had several instances. */
export function runBalancer(run: BalancerInfo, cell: BalancerInfo): BalancerInfo {
  const rank = (b: BalancerInfo) => (b.kind === 'none' ? 0 : b.kind === 'multi-url' ? 1 : 2)
  return rank(cell) > rank(run) ? cell : run
}

/**
 * A path the balancer answers itself, with a token written into its config at start: the readiness
 * check asks it first, so a port that another process took between the probe and the bind (a test run
 * in parallel, another run) is found out instead of that process being taken for the balancer.
 */
export const IDENTITY_PATH = '/__authbench/balancer'

export function haproxyConfig(port: number, backends: number[], sticky: boolean, token: string): string {
  return [
    'global',
    '  maxconn 8192',
    '  nbthread 1',
    // without it HAProxy binds with SO_REUSEPORT, and two balancers given the same port would share its connections
    '  noreuseport',
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    '  retries 2',
    '  option redispatch',
    // a refused connection (a killed instance) is retried after min(timeout connect, 1 s): on loopback a
    // connect takes microseconds, so 200 ms lets the failover scenario see the redispatch in 0.2 s, not 1 s
    '  timeout connect 200ms',
    '  timeout client 60s',
    '  timeout server 60s',
    'frontend authbench',
    `  bind 127.0.0.1:${port}`,
    `  http-request return status 200 content-type text/plain string ${token} if { path ${IDENTITY_PATH} }`,
    '  default_backend servers',
    'backend servers',
    '  balance roundrobin',
    ...(sticky ? [`  cookie ${STICKY_COOKIE} insert indirect nocache httponly`] : []),
    ...backends.map((p, i) => `  server s${i} 127.0.0.1:${p}${sticky ? ` cookie s${i}` : ''}`),
    '',
  ].join('\n')
}

export function nginxConfig(port: number, backends: number[], dir: string, token: string): string {
  return `worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  upstream servers {
${backends.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    large_client_header_buffers 4 32k;
    location = ${IDENTITY_PATH} { return 200 "${token}"; }
    location / {
      proxy_pass http://servers;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`
}

/** How many fresh ports a balancer start tries when the one it probed was taken before its bind. */
const PORT_ATTEMPTS = 5

/**
 * Starts a real load balancer in front of the given ports with a config generated for this run,
 * round-robin or (HAProxy only) cookie-sticky, and waits until it answers its own identity path and
 * forwards a request. A port lost to another process between probe and bind is retried on a new one.
 */
export async function startBalancer(kind: BalancerKind, backends: number[], opts: { sticky: boolean; dir: string; wrapper?: string[]; owner?: ChildOwner }): Promise<Balancer> {
  const found = kind === 'auto' ? detectBalancer() : (() => { const v = balancerVersion(kind); return v ? { kind, version: v } : null })()
  if (!found) throw new Error(kind === 'auto' ? 'no load balancer found: install haproxy or nginx' : `${kind} not found on PATH`)
  if (opts.sticky && found.kind === 'nginx') throw new Error('sticky sessions need HAProxy (open-source nginx has no cookie stickiness): install haproxy')
  for (let attempt = 1; ; attempt++) {
    const started = await startOn(found, await freePort(), backends, opts)
    if (started !== 'port taken') return started
    if (attempt === PORT_ATTEMPTS) throw new Error(`${found.kind} did not start: another process took its port ${PORT_ATTEMPTS} times`)
  }
}

type Found = { kind: 'haproxy' | 'nginx'; version: string }

/** One start of a balancer on a given port: the balancer, or 'port taken' when another process has that port. */
export async function startOn(found: Found, port: number, backends: number[], opts: { sticky: boolean; dir: string; wrapper?: string[]; owner?: ChildOwner }): Promise<Balancer | 'port taken'> {
  const token = randomBytes(12).toString('hex')
  const cfg = join(opts.dir, `${found.kind}.conf`)
  writeFileSync(cfg, found.kind === 'haproxy' ? haproxyConfig(port, backends, opts.sticky, token) : nginxConfig(port, backends, opts.dir, token))
  const argv = found.kind === 'haproxy' ? ['haproxy', '-db', '-f', cfg] : ['nginx', '-e', join(opts.dir, 'error.log'), '-p', opts.dir, '-c', cfg, '-g', 'daemon off;']
  const child = spawnOwned(argv, { stdio: ['ignore', 'ignore', 'pipe'], wrapper: opts.wrapper ?? [], ...(opts.owner ? { owner: opts.owner } : {}) })
  let log = ''
  child.stderr!.on('data', (d: Buffer) => { log += d.toString() })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 5000
  let ours = false
  for (;;) {
    if (child.exitCode !== null) {
      if (/Address already in use|cannot bind socket/i.test(log)) return 'port taken'
      throw new Error(`${found.kind} exited at start: ${log.trim().split('\n').pop() ?? ''}`)
    }
    try {
      if (!ours) {
        const r = await fetch(`${url}${IDENTITY_PATH}`)
        const body = await r.text()
        if (body !== token) { await stopChild(child); return 'port taken' } // someone else answers on this port
        ours = true
      }
      if ((await fetch(`${url}/health`)).status === 200) break
    } catch { /* not yet listening */ }
    if (Date.now() > deadline) {
      await stopChild(child)
      throw new Error(`${found.kind} did not forward a request within 5 s: ${log.trim()}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    kind: found.kind, version: found.version, url, pid: child.pid!,
    stickyCookie: opts.sticky ? STICKY_COOKIE : null,
    log: () => log,
    stop: () => stopChild(child),
  }
}
