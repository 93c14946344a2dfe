import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildSync } from 'esbuild'

/** The server's TypeScript entry point (`npm run server` runs it through tsx). */
export const SERVER_ENTRY = fileURLToPath(new URL('../servers/main.ts', import.meta.url))

/** Where bundles go: inside node_modules, so that the bundle's own `import`s of packages resolve as the sources' do. */
const BUNDLE_DIR = fileURLToPath(new URL('../node_modules/.cache/authbench/', import.meta.url))

/**
 * Native addons and packages that load files by path at run time: left as imports, not bundled.
 * sodium-native (under @fastify/secure-session) loads a prebuilt binary relative to its own folder.
 */
const EXTERNAL = ['sodium-native']

const built = new Map<string, string>()

/**
 * The server as one ES module, built with esbuild from the sources at the first call of a process
 * (≈ 0.1 s) and reused after: a server process then starts in ≈ 0.75 s of CPU instead of ≈ 1.25 s
 * through tsx (which transpiles and resolves each of hundreds of files on every start). A suite starts
 * over a hundred servers, so this is a minute of a ten-minute suite. The file is named by its content's
 * hash and written atomically: concurrent test workers never see half a file, and a stale bundle is
 * never run (sources changed → another hash). Bundling changes how modules load, not the code that runs
 * per request.
 */
export function serverBundle(): string {
  return bundleOf(SERVER_ENTRY, 'server')
}

/** Any entry point of ours as one ES module (see serverBundle): e.g. the mechanism loops, started once per run. */
export function bundleOf(entry: string, name = basename(entry).replace(/\.[^.]+$/, '')): string {
  const known = built.get(entry)
  if (known !== undefined && existsSync(known)) return known
  const out = buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    external: EXTERNAL,
    write: false,
    logLevel: 'silent',
    // CommonJS packages inside an ES module bundle still call require() for Node built-ins
    banner: { js: "import { createRequire as __authbenchRequire } from 'node:module'; const require = __authbenchRequire(import.meta.url);" },
    outfile: join(BUNDLE_DIR, 'server.mjs'),
  })
  const code = out.outputFiles[0]!.contents
  const file = join(BUNDLE_DIR, `${name}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`)
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true })
    const tmp = `${file}.${process.pid}.tmp`
    writeFileSync(tmp, code)
    renameSync(tmp, file)
  }
  built.set(entry, file)
  return file
}
