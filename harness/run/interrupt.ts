/**
 * What SIGINT/SIGTERM mean to a run. One Ctrl-C reaches the harness more than once: the terminal
 * signals the whole foreground process group, and npm forwards what it receives to its child. So
 * the first signal stops the run gracefully (results saved as interrupted, every process stopped),
 * signals within `FORCE_AFTER_MS` of it are taken as copies of it, and only a later one — a
 * deliberate second Ctrl-C — forces: children killed at once, results saved, exit.
 */
export const FORCE_AFTER_MS = 2000

export type InterruptAction = 'stop' | 'ignore' | 'force'

export function interruptPolicy(forceAfterMs = FORCE_AFTER_MS, nowMs: () => number = () => performance.now()): () => InterruptAction {
  let firstAtMs: number | null = null
  return () => {
    const now = nowMs()
    if (firstAtMs === null) {
      firstAtMs = now
      return 'stop'
    }
    return now - firstAtMs < forceAfterMs ? 'ignore' : 'force'
  }
}
