import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { buildSync } from 'esbuild'
import { SERVER_ENTRY, serverBundle } from '../harness/processes/server-bundle.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Runs bundleOf(entry) in a fresh process (the bundle cache of a process remembers its first answer). */
function bundleInFreshProcess(entry: string, name = 'bundle-test'): { file: string } {
  const code = `import { bundleOf } from ${JSON.stringify(join(ROOT, 'harness/processes/server-bundle.ts'))}
console.log(JSON.stringify({ file: bundleOf(${JSON.stringify(entry)}, ${JSON.stringify(name)}) }))`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' })
  expect(r.status, r.stderr).toBe(0)
  return JSON.parse(r.stdout.trim().split('\n').pop()!)
}

describe('the server bundle', () => {
  it('reaches each strategy\'s packages only through import(), which the bundle keeps behind a lazy initialiser: a server runs only its own strategy\'s', () => {
    // the module graph esbuild bundles, from its metafile: what the entry reaches by static imports runs at every start
    const meta = buildSync({ entryPoints: [SERVER_ENTRY], bundle: true, platform: 'node', format: 'cjs', write: false, metafile: true, logLevel: 'silent', external: ['sodium-native'] }).metafile!
    const entry = Object.keys(meta.inputs).find((k) => k.endsWith('servers/main.ts'))!
    const eager = new Set<string>([entry])
    for (const todo = [entry]; todo.length > 0;) {
      for (const imp of meta.inputs[todo.pop()!]!.imports) {
        if (imp.kind === 'dynamic-import' || imp.external || eager.has(imp.path)) continue
        eager.add(imp.path)
        todo.push(imp.path)
      }
    }
    const packages = new Set([...eager].flatMap((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(p)?.[1] ?? []))
    expect(packages.has('fastify')).toBe(true) // every server needs it
    for (const pkg of ['ioredis', 'fast-jwt', '@fastify/jwt', '@fastify/session', '@fastify/secure-session']) {
      expect(packages.has(pkg), `${pkg} reached by static imports`).toBe(false)
      expect(Object.keys(meta.inputs).some((p) => p.includes(`node_modules/${pkg}/`)), `${pkg} in the bundle`).toBe(true)
    }
    // and the bundle esbuild wrote turns those import()s into lazy initialisers, not code at its top level
    const main = readFileSync(join(dirname(serverBundle()), 'main.cjs'), 'utf8')
    expect(main).toMatch(/Promise\.resolve\(\)\.then\(\(\) => \(init_\w+\(\), \w+\)\)/)
  })

  it('starts from V8\'s code cache: the first start writes it once ready, the next one uses it, other node flags get their own', () => {
    const dir = join(ROOT, 'node_modules/.cache/authbench-cache-test')
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    const entry = join(dir, 'entry.ts')
    // a stand-in for the server: compiles some code, says it is ready as the server does, answers
    writeFileSync(entry, `import { READY_EVENT } from ${JSON.stringify(join(ROOT, 'servers/instrument.ts'))}\nconst sum = (n: number) => { let s = 0; for (let i = 0; i < n; i++) s += i; return s }\nconst e: NodeJS.EventEmitter = process\ne.emit(READY_EVENT)\nconsole.log(sum(10))\n`)
    try {
      const { file } = bundleInFreshProcess(entry, 'cache-test')
      const start = (...flags: string[]) => {
        const r = spawnSync(process.execPath, [...flags, file], { encoding: 'utf8', env: { ...process.env, AUTHBENCH_CODE_CACHE_LOG: '1' } })
        expect(r.stdout.trim()).toBe('45')
        return /code cache (\w+)/.exec(r.stderr)?.[1]
      }
      expect(start()).toBe('none')
      expect(start()).toBe('used')
      expect(start('--max-semi-space-size=64')).toBe('none') // a cache is only valid for the flags it was made with
      expect(start('--max-semi-space-size=64')).toBe('used')
      expect(start()).toBe('used')
      expect(readdirSync(dirname(file)).filter((f) => f.endsWith('.v8cache'))).toHaveLength(2)
    } finally {
      rmSync(dir, { recursive: true, force: true })
      for (const f of readdirSync(join(ROOT, 'node_modules/.cache/authbench')).filter((f) => f.startsWith('cache-test-'))) rmSync(join(ROOT, 'node_modules/.cache/authbench', f), { recursive: true, force: true })
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
