/**
 * The code's layers stay layers: servers < harness < scenarios < report < scripts. No file imports
 * from a layer above its own, no import cycle between files, and harness/ keeps its parts in
 * sub-folders. Import specifiers are read with TypeScript's own pre-processor (static, dynamic and
 * type-only imports and re-exports alike).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '..')
const LAYERS = ['servers', 'harness', 'scenarios', 'report', 'scripts'] as const

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(join(ROOT, path)).isDirectory()) return sources(path)
    return /\.ts$/.test(name) && !/\.d\.ts$/.test(name) ? [path] : []
  })
}
const FILES = LAYERS.flatMap((l) => sources(l))

/** file → the project files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of FILES) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true)
    const targets = importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => normalize(join(dirname(file), spec)))
      .filter((target) => FILES.includes(target))
    graph.set(file, [...new Set(targets)])
  }
  return graph
}
const layerOf = (file: string) => LAYERS.indexOf(file.split('/')[0] as (typeof LAYERS)[number])

/** Strongly connected components of more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string) => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!))
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1) found.push(component)
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return found
}

describe('layering', () => {
  const graph = importGraph()

  it('reads the imports it judges (a sanity check of the reader)', () => {
    expect(graph.get('scripts/bench.ts')!.length).toBeGreaterThan(3)
  })

  it('has no import from a layer above the importing file', () => {
    const upward = [...graph].flatMap(([file, targets]) => targets.filter((t) => layerOf(t) > layerOf(file)).map((t) => `${file} -> ${t}`))
    expect(upward).toEqual([])
  })

  it('has no import cycle', () => {
    expect(cycles(graph).map((c) => c.join(' <-> '))).toEqual([])
  })

  it('keeps harness/ in sub-folders: no source file at its top level', () => {
    expect(FILES.filter((f) => relative('harness', dirname(f)) === '')).toEqual([])
  })
})

/**
 * Sizes a reader can hold: no function over MAX_FUNCTION_LINES and no file over MAX_FILE_LINES under
 * the source layers, unless the file says why on a line of its own: `// size: <reason>` (one reason
 * covers the file and its functions).
 */
const MAX_FUNCTION_LINES = 60
const MAX_FILE_LINES = 300
const SIZE_REASON = /^\s*\/\/ size: \S/m

function oversized(file: string, text = readFileSync(join(ROOT, file), 'utf8')): string[] {
  if (SIZE_REASON.test(text)) return []
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line
  const found: string[] = []
  const lines = lineOf(text.length) + (text.endsWith('\n') ? 0 : 1)
  if (lines > MAX_FILE_LINES) found.push(`${file}: ${lines} lines`)
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const length = lineOf(node.end) - lineOf(node.getStart()) + 1
      if (length > MAX_FUNCTION_LINES) found.push(`${file}:${lineOf(node.getStart()) + 1}: a function of ${length} lines`)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

describe('sizes', () => {
  it(`has no function over ${MAX_FUNCTION_LINES} lines and no file over ${MAX_FILE_LINES} without a reason`, () => {
    expect(FILES.flatMap((f) => oversized(f))).toEqual([])
  })

  it('finds an oversized function and file, and takes a stated reason (a check of the checker)', () => {
    const fn = (lines: number) => `function f() {\n${Array.from({ length: lines - 2 }, (_, k) => `  const v${k} = ${k}`).join('\n')}\n}\n`
    expect(oversized('ok.ts', fn(MAX_FUNCTION_LINES))).toEqual([])
    expect(oversized('long.ts', fn(MAX_FUNCTION_LINES + 1))).toEqual([`long.ts:1: a function of ${MAX_FUNCTION_LINES + 1} lines`])
    expect(oversized('arrow.ts', `const g = () => {\n${'  void 0\n'.repeat(MAX_FUNCTION_LINES)}}\n`)).toHaveLength(1)
    expect(oversized('big.ts', 'const x = 1\n'.repeat(MAX_FILE_LINES + 1))).toEqual([`big.ts: ${MAX_FILE_LINES + 1} lines`])
    expect(oversized('why.ts', `// size: one table of every status code\n${fn(MAX_FUNCTION_LINES + 5)}`)).toEqual([])
  })
})
