import { fileURLToPath } from 'node:url'
import { spawnOwned, stopChild, type ChildOwner } from '../processes/children.ts'
import type { MechanismCosts } from './mechanisms.ts'
import type { CpuPlacement } from '../results/results.ts'
import { serverWrapper } from '../processes/placement.ts'
import { bundleOf } from '../processes/server-bundle.ts'

const MECHANISMS_ENTRY = fileURLToPath(new URL('./mechanisms-main.ts', import.meta.url))
/** Longest the loops may take before the run goes on without them. */
const MECHANISMS_TIMEOUT_MS = 60_000

/**
 * Runs harness/measure/mechanisms.ts as a child on the servers' cores (nothing else runs meanwhile) and
 * returns what it measured: about `timeMs` per loop, a dozen loops.
 */
export function runMechanisms(placement: CpuPlacement, redisUrl: string | null, timeMs: number, owner?: ChildOwner): Promise<MechanismCosts> {
  // bundled like the servers (harness/processes/server-bundle.ts): it starts in a fraction of tsx's time
  const child = spawnOwned([process.execPath, bundleOf(MECHANISMS_ENTRY)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, REDIS_URL: redisUrl ?? '', AUTHBENCH_MECHANISM_TIME_MS: String(timeMs), NODE_NO_WARNINGS: '1' },
    wrapper: serverWrapper(placement),
    ...(owner ? { owner } : {}),
  })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { void stopChild(child); reject(new Error(`mechanism loops took over ${MECHANISMS_TIMEOUT_MS / 1000} s`)) }, MECHANISMS_TIMEOUT_MS)
    child.once('exit', (code) => {
      clearTimeout(timer)
      try {
        if (code !== 0) throw new Error(err.trim().split('\n').pop() || `exited with code ${code}`)
        resolve(JSON.parse(out) as MechanismCosts)
      } catch (e) {
        reject(e as Error)
      }
    })
  })
}

/** Seconds the loops take: a dozen of them, `timeMs` each plus warm-up (tinybench's, as set there), and the process start and set-up (≈ 1 s). */
export const mechanismsSec = (timeMs: number) => 1 + (13 * (timeMs + Math.min(100, timeMs / 2))) / 1000
