/**
 * `--baseline <git ref or folder>`: another version's servers, built beside this checkout's. The
 * baseline's `servers/` is copied (a git ref: `git archive`; a folder: a copy) into this checkout's
 * node_modules cache, so that its imports of packages resolve to this checkout's node_modules, and
 * bundled there like ours (server-bundle.ts). So the two versions differ in their server code only:
 * where the baseline's package.json asks for other package versions, the run says so.
 */
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleOf } from './server-bundle.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CACHE = join(ROOT, 'node_modules', '.cache', 'authbench')

export interface Baseline {
  /** What the user named (ref or folder), and what it resolved to (a commit, or the folder's path). */
  given: string
  resolved: string
  /** The bundle its servers start from. */
  bundle: string
  /** Differences that make the comparison less than pure code (package versions asked for). */
  warnings: string[]
}

export class BaselineError extends Error {
  override name = 'BaselineError'
}

const git = (...args: string[]) => spawnSync('git', ['-C', ROOT, ...args], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 })

/** The baseline's sources in a folder of their own under the cache, and what they were taken from. */
function checkout(given: string): { dir: string; resolved: string; packageJson: string | null } {
  if (existsSync(given) && existsSync(join(given, 'servers', 'main.ts'))) {
    const dir = join(CACHE, `baseline-folder-${Buffer.from(resolve(given)).toString('hex').slice(-16)}`)
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    cpSync(join(given, 'servers'), join(dir, 'servers'), { recursive: true })
    const pj = join(given, 'package.json')
    return { dir, resolved: resolve(given), packageJson: existsSync(pj) ? readFileSync(pj, 'utf8') : null }
  }
  const rev = git('rev-parse', '--verify', '--quiet', `${given}^{commit}`)
  if (rev.status !== 0) throw new BaselineError(`--baseline ${given}: neither a git ref of this checkout nor a folder with servers/main.ts`)
  const sha = rev.stdout.toString().trim()
  const dir = join(CACHE, `baseline-${sha.slice(0, 12)}`)
  if (!existsSync(join(dir, 'servers', 'main.ts'))) {
    const tar = git('archive', '--format=tar', sha, 'servers')
    if (tar.status !== 0) throw new BaselineError(`--baseline ${given}: git archive failed: ${tar.stderr.toString().trim()}`)
    mkdirSync(dir, { recursive: true })
    const x = spawnSync('tar', ['-x', '-C', dir], { input: tar.stdout })
    if (x.status !== 0) throw new BaselineError(`--baseline ${given}: could not unpack its servers/: ${x.stderr.toString().trim()}`)
  }
  const pj = git('show', `${sha}:package.json`)
  return { dir, resolved: sha, packageJson: pj.status === 0 ? pj.stdout.toString() : null }
}

/** Packages whose asked-for version differs between the baseline's package.json and this one's. */
function packageDifferences(theirs: string | null): string[] {
  if (theirs === null) return ['the baseline has no package.json: built with this checkout\'s packages']
  const deps = (text: string) => (JSON.parse(text) as { dependencies?: Record<string, string> }).dependencies ?? {}
  const [a, b] = [deps(theirs), deps(readFileSync(join(ROOT, 'package.json'), 'utf8'))]
  const changed = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().filter((p) => a[p] !== b[p])
  return changed.length ? [`the baseline's package.json asks for other versions (${changed.map((p) => `${p} ${a[p] ?? '–'} → ${b[p] ?? '–'}`).join(', ')}); both are built with this checkout's node_modules, so only the server code differs`] : []
}

/** Builds the baseline's server bundle (once per commit or folder content). */
export function buildBaseline(given: string): Baseline {
  const { dir, resolved, packageJson } = checkout(given)
  let bundle: string
  try {
    bundle = bundleOf(join(dir, 'servers', 'main.ts'), 'baseline-server')
  } catch (err) {
    throw new BaselineError(`--baseline ${given}: its servers do not build with this checkout's packages: ${(err as Error).message.split('\n')[0]}`)
  }
  return { given, resolved, bundle, warnings: packageDifferences(packageJson) }
}

/** The options with the baseline built (bundle and commit filled in), or the problem in one line; warnings go to `warn`. */
export function withBaseline<O extends { baseline: string | null; baselineBundle: string | null; baselineCommit: string | null }>(o: Readonly<O>, warn: (w: string) => void): Readonly<O> | string {
  if (o.baseline === null) return o
  try {
    const b = buildBaseline(o.baseline)
    for (const w of b.warnings) warn(w)
    return Object.freeze({ ...o, baselineBundle: b.bundle, baselineCommit: b.resolved })
  } catch (err) {
    if (err instanceof BaselineError) return err.message
    throw err
  }
}
