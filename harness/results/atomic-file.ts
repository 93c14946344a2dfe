import { randomBytes } from 'node:crypto'
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

/**
 * Writes a file so that a reader sees the old content or the new one, never half of it, and so that
 * nothing already in the folder is written through: the temp file is created exclusively (O_CREAT |
 * O_EXCL, which fails on an existing file or symlink instead of following it; then another name is
 * tried), and renamed over the target (rename replaces a symlink at the target, never what it points
 * to). A run folder may come from elsewhere (copied, shared): what it holds never aims our writes.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: { mode?: number; mkdir?: boolean } = {}): void {
  const dir = dirname(path)
  if (opts.mkdir) mkdirSync(dir, { recursive: true })
  const { fd, tmp } = createExclusive(dir, basename(path), opts.mode ?? 0o644)
  try {
    try { writeFileSync(fd, data) } finally { closeSync(fd) }
    renameSync(tmp, path)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
}

/** Opens a new temp file beside the target: `<name>.<pid>.tmp` first, then random names while something is in the way. */
function createExclusive(dir: string, name: string, mode: number): { fd: number; tmp: string } {
  for (let attempt = 0; ; attempt++) {
    const tmp = join(dir, `.${name}.${process.pid}${attempt === 0 ? '' : `.${randomBytes(6).toString('hex')}`}.tmp`)
    try {
      return { fd: openSync(tmp, 'wx', mode), tmp }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 8) throw err
    }
  }
}
