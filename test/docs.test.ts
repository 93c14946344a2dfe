/**
 * The README and docs/ say what the code does: every `npm run` script they name exists, every option
 * they name is one a command of ours accepts (its `--help` lists it) or belongs to a named other tool,
 * and every relative link resolves. The README stays a five-minute read.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '..')
const FILES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
const text = (file: string) => readFileSync(join(ROOT, file), 'utf8')
const README_MAX_LINES = 150

/** Our commands whose `--help` lists the options the docs may name. */
const COMMANDS = ['scripts/bench.ts', 'servers/main.ts', 'scripts/compare.ts', 'scripts/profile.ts', 'scripts/merge.ts', 'scripts/kubernetes.ts']
/** Options of other programs that the docs name on purpose, with the program. */
const OTHER_TOOLS: Record<string, string> = {
  '--import': 'node', '--cpu-prof': 'node', '--no-memory-reducer': 'node (V8)', '--max-semi-space-size': 'node (V8)',
  '--noEmit': 'tsc', '--save': 'redis-server', '--pdeathsig': 'setpriv', '--fix': 'eslint',
  '--scale': 'docker-compose', '--exit-code-from': 'docker-compose', '--for': 'kubectl', '--timeout': 'kubectl', '--from-literal': 'kubectl',
}

describe('README.md and docs/', () => {
  it(`README.md fits ${README_MAX_LINES} lines`, () => {
    expect(text('README.md').split('\n').length).toBeLessThanOrEqual(README_MAX_LINES)
  })

  it('name only npm scripts that package.json defines', () => {
    const scripts = Object.keys((JSON.parse(text('package.json')) as { scripts: Record<string, string> }).scripts)
    for (const file of FILES) {
      for (const [, name] of text(file).matchAll(/npm run ([a-z][a-z:-]*)/g)) expect(scripts, `${file}: npm run ${name}`).toContain(name)
    }
  })

  it('name only options that our commands accept (or that belong to another named tool)', () => {
    const accepted = new Set(Object.keys(OTHER_TOOLS))
    for (const entry of COMMANDS) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', entry, '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 })
      expect(r.status, `${entry} --help: ${r.stderr}`).toBe(0)
      for (const [option] of r.stdout.matchAll(/--[a-z][a-z0-9-]*/g)) accepted.add(option)
    }
    for (const file of FILES) {
      for (const [option] of text(file).matchAll(/--[a-zA-Z][a-zA-Z0-9-]*/g)) expect(accepted.has(option), `${file}: ${option}`).toBe(true)
    }
  }, 60_000)

  it('link only to files that exist', () => {
    for (const file of FILES) {
      for (const [, target] of text(file).matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue // an absolute URL
        expect(existsSync(join(ROOT, dirname(file), target!)), `${file} → ${target}`).toBe(true)
      }
    }
  })
})
