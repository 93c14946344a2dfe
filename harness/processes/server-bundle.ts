import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildSync, version as esbuildVersion, type BuildOptions } from 'esbuild'
import { READY_EVENT } from '../../servers/instrument.ts'

/** The server's TypeScript entry point (`npm run server` runs it through tsx). */
export const SERVER_ENTRY = fileURLToPath(new URL('../../servers/main.ts', import.meta.url))

/** Where bundles go: inside node_modules, so that the bundle's own `import`s of packages resolve as the sources' do. */
const BUNDLE_DIR = fileURLToPath(new URL('../../node_modules/.cache/authbench/', import.meta.url))

/**
 * Native addons and packages that load files by path at run time: left as imports, not bundled.
 * sodium-native (under @fastify/secure-session) loads a prebuilt binary relative to its own folder.
 */
const EXTERNAL = ['sodium-native']

/** The file a bundle is started by: it runs main.cjs through V8's code cache. */
const LOADER_FILE = 'start.cjs'

/**
 * The loader, written beside each bundle. The code cache sits beside it, named by node's version and
 * flags (a cache is only valid for those); the first start that finds none, or finds it rejected,
 * writes it once it is ready (the server emits READY_EVENT then: everything a start runs is compiled
 * by that time), atomically. AUTHBENCH_CODE_CACHE_LOG=1 says on stderr whether the cache was used.
 */
const LOADER = `'use strict'
// authbench (harness/processes/server-bundle.ts): runs main.cjs from V8's code cache, and writes that cache when missing.
const { readFileSync, renameSync, writeFileSync } = require('node:fs')
const { createHash } = require('node:crypto')
const { join } = require('node:path')
const Module = require('node:module')
const vm = require('node:vm')
const file = join(__dirname, 'main.cjs')
const flags = createHash('sha256').update(process.version + ' ' + process.execArgv.join(' ')).digest('hex').slice(0, 16)
const cacheFile = join(__dirname, 'main.' + flags + '.v8cache')
let cachedData
try { cachedData = readFileSync(cacheFile) } catch {}
const script = new vm.Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData })
const state = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used'
if (process.env.AUTHBENCH_CODE_CACHE_LOG === '1') process.stderr.write('authbench: code cache ' + state + '\\n')
if (state !== 'used') {
  process.once(${JSON.stringify(READY_EVENT)}, () => {
    const tmp = cacheFile + '.' + process.pid + '.tmp'
    try { writeFileSync(tmp, script.createCachedData()); renameSync(tmp, cacheFile) } catch {}
  })
}
const m = new Module(file, module)
m.filename = file
m.paths = Module._nodeModulePaths(__dirname)
script.runInThisContext().call(m.exports, m.exports, Module.createRequire(file), m, file, __dirname)
`

const built = new Map<string, string>()

/**
 * The server's entry module, built with esbuild from the sources (≈ 1 s, only when they or a package
 * changed: see bundleOf) and reused after: a server process then reaches ready in ≈ 0.35 s instead of
 * ≈ 1.25 s through tsx (which transpiles and resolves each of hundreds of files on every start). A
 * suite starts over a hundred servers, so this is minutes of a ten-minute suite. The build's folder is
 * named by its content's hash and renamed into place whole: concurrent test workers never see half a
 * build, and a stale one is never run (sources changed → another hash). Bundling changes how modules
 * load, not the code that runs per request.
 */
export function serverBundle(): string {
  return bundleOf(SERVER_ENTRY, 'server')
}

/** What a bundle was built from: every input file's content hash, so that an unchanged tree reuses it. */
interface Manifest { key: string; inputs: Record<string, string>; file: string }

const hashOf = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex').slice(0, 16)

/** The bundle a previous build left for this entry, if none of its inputs (sources and packages) changed since. */
function reusable(manifestPath: string, key: string): string | null {
  try {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest
    if (m.key !== key || !existsSync(m.file)) return null
    for (const [path, hash] of Object.entries(m.inputs)) if (hashOf(readFileSync(path)) !== hash) return null
    return m.file
  } catch {
    return null
  }
}

/**
 * Any entry point of ours as one CommonJS file (see serverBundle): e.g. the mechanism loops, started
 * once per run. The servers import each strategy's packages (fast-jwt, ioredis, @fastify/session…)
 * with import() where they set it up; esbuild keeps such a module behind a lazy initialiser, so a
 * server runs only its own strategy's. Beside main.cjs goes the loader that is actually started,
 * start.cjs (LOADER): it runs main.cjs from V8's code cache, so a start neither parses nor compiles
 * the bundle (≈ 60 ms of a 0.3 s start; Node 20 caches no ES module's code, hence CommonJS). esbuild
 * takes ≈ 1 s for the server, at the start of every run and every test file; so a manifest records
 * the content hash of each input, and while none changed (≈ 20 ms to check) the bundle is reused
 * without building. Each build goes to a folder named by its output's hash, renamed into place whole.
 */
export function bundleOf(entry: string, name = basename(entry).replace(/\.[^.]+$/, '')): string {
  const known = built.get(entry)
  if (known !== undefined && existsSync(known)) return known
  const options: BuildOptions = {
    entryPoints: { main: entry },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${process.versions.node.split('.')[0]}`,
    external: EXTERNAL,
    outExtension: { '.js': '.cjs' },
    outdir: join(BUNDLE_DIR, 'out'),
  }
  const key = hashOf(JSON.stringify([entry, esbuildVersion, options, LOADER]))
  const manifestPath = join(BUNDLE_DIR, `${name}-${hashOf(entry)}.manifest.json`)
  const reused = reusable(manifestPath, key)
  if (reused !== null) {
    built.set(entry, reused)
    return reused
  }
  const out = buildSync({ ...options, write: false, logLevel: 'silent', metafile: true })
  const files = [...(out.outputFiles ?? []), { path: LOADER_FILE, contents: new TextEncoder().encode(LOADER) }]
  const digest = createHash('sha256')
  for (const f of files) digest.update(basename(f.path)).update(f.contents)
  const dir = join(BUNDLE_DIR, `${name}-${digest.digest('hex').slice(0, 16)}`)
  const file = join(dir, LOADER_FILE)
  if (!existsSync(file)) {
    const tmp = `${dir}.${process.pid}.tmp`
    rmSync(tmp, { recursive: true, force: true })
    mkdirSync(tmp, { recursive: true })
    for (const f of files) writeFileSync(join(tmp, basename(f.path)), f.contents)
    try {
      renameSync(tmp, dir)
    } catch {
      rmSync(tmp, { recursive: true, force: true }) // another process put the same build there first
    }
  }
  const inputs: Record<string, string> = {}
  for (const input of Object.keys(out.metafile!.inputs)) {
    const path = resolve(input) // metafile paths are relative to the working directory
    inputs[path] = hashOf(readFileSync(path))
  }
  writeAtomically(manifestPath, JSON.stringify({ key, inputs, file } satisfies Manifest))
  built.set(entry, file)
  pruneOldBuilds(name, dir)
  return file
}

/** Builds of an entry untouched for this long are removed when it is built anew (≈ 2.3 MB each). */
const STALE_BUILD_MS = 24 * 3600 * 1000

/**
 * Removes this entry's earlier builds (folders, and single files from before the split) not modified
 * for a day: a run or test worker started from one within the day may still start servers from it.
 */
function pruneOldBuilds(name: string, keep: string): void {
  const mine = new RegExp(`^${name.replace(/[^\w-]/g, '\\$&')}-[0-9a-f]{16}(\\.mjs)?$`)
  for (const f of readdirSync(BUNDLE_DIR)) {
    const path = join(BUNDLE_DIR, f)
    if (!mine.test(f) || path === keep) continue
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_BUILD_MS) rmSync(path, { recursive: true, force: true })
    } catch { /* another process removed it first */ }
  }
}

/** Written under a temporary name, then renamed: concurrent test workers never see half a file. */
function writeAtomically(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, data)
  renameSync(tmp, file)
}
