/**
 * The end-of-run summary for a 120-column terminal: the verdict table first, then one compact table
 * per scenario with short human headers and units, flags, and where the full report is.
 */
import Table from 'cli-table3'
import { hostSpeedLine } from '../harness/measure/host-speed.ts'
import { verdictsWithMargins } from './verdict-margins.ts'
import { cellFlags, FLAG_MEANING, scenarioTable, scenariosIn, type ReportInput } from './model.ts'

export const TERMINAL_COLUMNS = 120
/** Metric columns per scenario table in the terminal (plus the cell label and the flags): every headline one, at least three, at most five. */
export const TERMINAL_METRIC_COLUMNS = { min: 3, max: 5 } as const

/** No rule between body rows: a table of ten cells takes ten lines, not twenty. */
const COMPACT_CHARS = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' }

function fitted(head: string[], widths: number[]): Table.Table {
  return new Table({ head, colWidths: widths, wordWrap: true, wrapOnWordBoundary: true, chars: COMPACT_CHARS, style: { head: [], border: [], 'padding-left': 1, 'padding-right': 1 } })
}

/**
 * Each distinct warning once, with the cells it was given for: the same sentence for nine cells is
 * printed one time, followed by the nine cell ids. Run-wide warnings come last, as they are.
 */
export function groupedWarnings(cells: ReadonlyArray<{ id: string; warnings: readonly string[] }>, runWide: readonly string[]): string[] {
  const groups = groupByNumberTemplate(cells.flatMap((c) => c.warnings.map((text) => ({ text, id: c.id }))))
  const lines = groups.map(({ text, ids }) => `${wrap(`! ${text}`, '    ')}
${wrap(`    ${ids.length === 1 ? 'cell' : `${ids.length} cells`}: ${ids.join(', ')}`, '      ')}`)
  return [...lines, ...[...new Set(runWide)].map((w) => wrap(`! ${w}`, '    '))]
}

const NUMBER = /\d[\d,]*(?:\.\d+)?/g

/**
 * Sentences that differ only in their numbers (the same warning with each cell's own figure) as one:
 * each number that differs becomes the range over the group, `39–96`; the ids keep their order.
 */
export function groupByNumberTemplate(items: ReadonlyArray<{ text: string; id: string }>): Array<{ text: string; ids: string[] }> {
  const groups = new Map<string, { texts: string[]; ids: string[] }>()
  for (const { text, id } of items) {
    const key = text.replace(NUMBER, '#')
    const g = groups.get(key) ?? { texts: [], ids: [] }
    g.texts.push(text)
    if (!g.ids.includes(id)) g.ids.push(id)
    groups.set(key, g)
  }
  return [...groups.values()].map(({ texts, ids }) => {
    const numbers = texts.map((t) => t.match(NUMBER) ?? [])
    let k = 0
    const text = texts[0]!.replace(NUMBER, (first) => {
      const values = numbers.map((n) => n[k]!)
      k++
      const sorted = [...new Set(values)].sort((a, b) => Number(a.replace(/,/g, '')) - Number(b.replace(/,/g, '')))
      return sorted.length === 1 ? first : `${sorted[0]}–${sorted.at(-1)}`
    })
    return { text, ids }
  })
}

/** Notes that several cells share, once, followed by those cells. */
function groupedNotes(notes: ReadonlyArray<{ cell: string; text: string }>): string[] {
  const byText = new Map<string, string[]>()
  for (const n of notes) byText.set(n.text, [...(byText.get(n.text) ?? []), n.cell])
  return [...byText].map(([text, cells]) => wrap(`  ${cells.join(', ')}: ${text}`, '    '))
}

/** Column widths for n metric columns that keep a table within the terminal width: the label column as wide as its longest label (24–40). */
function widthsFor(n: number, labels: readonly string[]): number[] {
  const borders = n + 3
  const label = Math.min(40, Math.max(24, ...labels.map((l) => [...l].length + 2)))
  const flags = 16
  const each = Math.max(10, Math.floor((TERMINAL_COLUMNS - borders - label - flags) / Math.max(1, n)))
  return [label, ...Array(n).fill(each), flags]
}

export function renderTerminal(input: ReportInput, files?: { html: string; markdown: string; csv: string }): string {
  const out: string[] = []
  const vt = fitted(['claim of the article', 'verdict', 'measured, and why'], [34, 14, TERMINAL_COLUMNS - 34 - 14 - 4])
  for (const v of verdictsWithMargins(input.results)) vt.push([v.claim, v.margin.fragile ? `${v.verdict} (fragile)` : v.verdict, v.margin.text ? `${v.condition} [${v.margin.text}]` : v.condition])
  out.push('The article\'s claims', vt.toString())
  for (const scenario of scenariosIn(input)) {
    const headline = scenario.metrics.filter((d) => d.headline).length
    const t = scenarioTable(input, scenario, Math.min(TERMINAL_METRIC_COLUMNS.max, Math.max(TERMINAL_METRIC_COLUMNS.min, headline)), { brief: true })
    const table = fitted(t.header, widthsFor(t.header.length - 2, t.rows.map((r) => r[0]!)))
    for (const row of t.rows) table.push(row)
    out.push('', scenario.name, table.toString(), ...groupedNotes(t.cellNotes))
  }
  // the legend of the flags this run shows
  const shown = new Set<string>(input.results.cells.flatMap((c) => scenariosIn(input).filter((s) => s.name === c.scenario).flatMap((s) => cellFlags(c, s))))
  const legend = Object.entries(FLAG_MEANING).filter(([f]) => shown.has(f))
  if (legend.length) out.push('', wrap(`Flags: ${legend.map(([f, m]) => `${f} = ${m}`).join('; ')}.`))
  out.push('Why each headline level, every metric and the ratio of every repeat: report.html and report.md.',
    'Latency is closed-loop: it includes queueing and is subject to coordinated omission.',
    'Compare ratios and per-request costs, not absolute requests/s (weather on a shared machine).')
  if (input.results.hostSpeed) out.push(wrap(`Host speed, ${hostSpeedLine(input.results.hostSpeed)}.`))
  const warnings = groupedWarnings(input.results.cells, input.results.warnings)
  if (warnings.length) out.push('', 'Warnings:', ...warnings)
  if (files) out.push('', `report: ${files.html}`, `        ${files.markdown}`, `        ${files.csv}`)
  return out.join('\n')
}

/** Word-wraps one paragraph to the terminal width, keeping its leading spaces; continuation lines start with `indent`. */
export function wrap(text: string, indent = ''): string {
  const lead = /^ */.exec(text)![0]
  const lines: string[] = []
  let line = lead
  let first = true
  for (const word of text.slice(lead.length).split(' ')) {
    const next = first ? `${line}${word}` : `${line} ${word}`
    if ([...next].length > TERMINAL_COLUMNS && !first) {
      lines.push(line)
      line = `${indent}${word}`
    } else {
      line = next
    }
    first = false
  }
  lines.push(line)
  return lines.join('\n')
}
