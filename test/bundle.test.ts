import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { serverBundle } from '../harness/server-bundle.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Runs bundleOf(entry) in a fresh process (the bundle cache of a process remembers its first answer). */
function bundleInFreshProcess(entry: string): { file: string } {
  const code = `import { bundleOf } from ${JSON.stringify(join(ROOT, 'harness/server-bundle.ts'))}
console.log(JSON.stringify({ file: bundleOf(${JSON.stringify(entry)}, 'bundle-test') }))`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' })
  expect(r.status, r.stderr).toBe(0)
  return JSON.parse(r.stdout.trim().split('\n').pop()!)
}

describe('the server bundle', () => {
  it('keeps each strategy\'s packages out of the code every server loads: they sit in chunks loaded by the strategy that needs them', () => {
    const main = serverBundle()
    const dir = dirname(main)
    // esbuild marks where each bundled file starts with a `// node_modules/<package>/…` comment
    const packagesIn = (file: string) => new Set([...readFileSync(join(dir, file), 'utf8').matchAll(/^\/\/ node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)].map((m) => m[1]!))
    const inMain = packagesIn('main.mjs')
    expect(inMain.has('fastify')).toBe(true) // every server needs it
    for (const pkg of ['ioredis', 'fast-jwt', '@fastify/jwt', '@fastify/session', '@fastify/secure-session']) {
      expect(inMain.has(pkg), `${pkg} in main.mjs`).toBe(false)
      const chunks = readdirSync(dir).filter((f) => f !== 'main.mjs' && packagesIn(f).has(pkg))
      expect(chunks.length, `${pkg} in a chunk of its own`).toBeGreaterThan(0)
    }
  })

  describe('reuse', () => {
    // an entry of its own, inside the project so that it resolves like the sources
    const dir = join(ROOT, 'node_modules/.cache/authbench-bundle-test')
    const made: string[] = []
    const bundles = join(ROOT, 'node_modules/.cache/authbench')
    const manifests = () => readdirSync(bundles).filter((f) => f.startsWith('bundle-test-') && f.endsWith('.manifest.json')).map((f) => join(bundles, f))
    afterAll(() => { for (const d of [dir, ...made, ...manifests()]) rmSync(d, { recursive: true, force: true }) })

    it('is rebuilt when an input\'s content changes, and reused, without building, while none does', () => {
      rmSync(dir, { recursive: true, force: true })
      mkdirSync(dir, { recursive: true })
      const entry = join(dir, 'entry.ts')
      writeFileSync(entry, "import { answer } from './part.ts'\nconsole.log(answer)\n")
      writeFileSync(join(dir, 'part.ts'), 'export const answer = 41\n')
      const first = bundleInFreshProcess(entry)
      made.push(dirname(first.file))
      const [manifest] = manifests()
      const writtenAt = statSync(manifest!).mtimeMs
      const again = bundleInFreshProcess(entry)
      expect(again.file).toBe(first.file)
      expect(statSync(manifest!).mtimeMs, 'a reuse writes nothing').toBe(writtenAt)
      const run = (file: string) => spawnSync(process.execPath, [file], { encoding: 'utf8' }).stdout.trim()
      expect(run(again.file)).toBe('41')

      // a build of this entry left two days ago, and one left an hour ago
      const stale = join(bundles, 'bundle-test-00000000000000aa')
      const recent = join(bundles, 'bundle-test-00000000000000bb')
      for (const [d, ageSec] of [[stale, 2 * 86400], [recent, 3600]] as const) {
        mkdirSync(d, { recursive: true })
        made.push(d)
        const t = Date.now() / 1000 - ageSec
        utimesSync(d, t, t)
      }
      writeFileSync(join(dir, 'part.ts'), 'export const answer = 42\n') // an imported file, not the entry
      const changed = bundleInFreshProcess(entry)
      made.push(dirname(changed.file))
      expect(changed.file).not.toBe(first.file)
      expect(run(changed.file)).toBe('42')
      // a new build removes this entry's builds untouched for a day, and only those
      expect(existsSync(stale)).toBe(false)
      expect(existsSync(recent)).toBe(true)
      expect(existsSync(first.file)).toBe(true)
    })
  })
})
