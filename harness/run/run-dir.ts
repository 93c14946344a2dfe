import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

/** `<date>-<time>-<sha>`: when a run started (local time, to the second) and at which commit. */
export function runDirName(sha: string | null, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0')
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`
  return `${stamp}-${sha?.slice(0, 7) ?? 'nogit'}`
}

/**
 * Creates the run's own folder under `out` and returns its path. Two runs started in the same second
 * (and at the same commit) would share a name: the folder is claimed atomically (mkdir fails if it
 * exists), and the second run gets `-2`, the third `-3`, and so on — never another run's results.json.
 */
export function claimRunDir(out: string, name: string): string {
  mkdirSync(out, { recursive: true })
  for (let k = 1; ; k++) {
    const dir = join(out, k === 1 ? name : `${name}-${k}`)
    try {
      mkdirSync(dir)
      return dir
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
}
