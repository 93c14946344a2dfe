/**
 * `npm run doctor`: what this machine has for authbench, and how to install what it lacks.
 * A shell-script job, so it is written with zx.
 */
import { $, which } from 'zx'
import { availableParallelism } from 'node:os'

$.verbose = false
$.quiet = true

interface Check { name: string; found: string | null; need: 'required' | 'recommended'; why: string; install: string }

async function version(cmd: string, args: string[], pattern: RegExp): Promise<string | null> {
  if (!(await which(cmd, { nothrow: true }))) return null
  const out = await $`${cmd} ${args}`.nothrow()
  return pattern.exec(`${out.stdout}${out.stderr}`)?.[1] ?? 'present'
}

const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
const checks: Check[] = [
  { name: 'node', found: major > 20 || (major === 20 && minor >= 19) ? process.version : null, need: 'required', why: 'runs everything (≥ 20.19)', install: 'https://nodejs.org or your package manager' },
  { name: 'redis-server', found: await version('redis-server', ['--version'], /v=(\S+)/), need: 'recommended', why: 'redis-session, jwt-denylist and refresh (skipped without it)', install: 'sudo apt-get install -y redis-server  |  brew install redis' },
  { name: 'haproxy', found: await version('haproxy', ['-v'], /HAProxy version (\S+)/), need: 'recommended', why: 'real load balancer for --instances > 1, sticky sessions', install: 'sudo apt-get install -y haproxy  |  brew install haproxy' },
  { name: 'nginx', found: await version('nginx', ['-v'], /nginx\/(\S+)/), need: 'recommended', why: 'round-robin balancer when HAProxy is missing', install: 'sudo apt-get install -y nginx-light  |  brew install nginx' },
  { name: 'taskset', found: await version('taskset', ['--version'], /(\d+\.\d+(?:\.\d+)?)/), need: 'recommended', why: 'pins generator and servers to separate cores (Linux)', install: 'sudo apt-get install -y util-linux' },
]

let missingRequired = false
for (const c of checks) {
  const mark = c.found ? 'ok  ' : c.need === 'required' ? 'MISS' : 'skip'
  process.stdout.write(`${mark} ${c.name.padEnd(13)} ${(c.found ?? '-').padEnd(10)} ${c.why}${c.found ? '' : `\n       install: ${c.install}`}\n`)
  if (!c.found && c.need === 'required') missingRequired = true
}
const cores = availableParallelism()
process.stdout.write(`${cores >= 2 ? 'ok  ' : 'warn'} cores         ${String(cores).padEnd(10)} ${cores >= 2 ? 'generator and servers can get separate cores' : 'one core: generator and servers will compete; numbers are suspect'}\n`)
process.exit(missingRequired ? 1 : 0)
