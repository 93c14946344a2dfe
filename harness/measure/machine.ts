import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, hostname, release, totalmem, type } from 'node:os'
import { createRequire } from 'node:module'
import type { MachineInfo } from '../results/results.ts'

export function machineInfo(): MachineInfo {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length, // the machine's, not availableParallelism(): that counts only the cores this process may use, and the harness pins itself to the generator's
    memoryBytes: totalmem(),
    os: `${type()} ${release()}`,
    node: process.version,
    hostname: hostname(),
  }
}

export function gitSha(cwd = process.cwd()): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
}

const require = createRequire(import.meta.url)
const MEASURED_PACKAGES = ['fastify', '@fastify/session', '@fastify/cookie', '@fastify/jwt', '@fastify/secure-session', 'fast-jwt', 'ioredis', 'autocannon']

/** Installed versions of the packages whose code is measured or measures. */
export function packageVersions(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of MEASURED_PACKAGES) {
    try {
      const pkgPath = require.resolve(`${name}/package.json`)
      out[name] = (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version
    } catch {
      out[name] = 'unknown'
    }
  }
  return out
}

export function toolVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
}
