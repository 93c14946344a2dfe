/**
 * The end-of-run summary for a 120-column terminal: the verdict table first, then one compact table
 * per scenario with short human headers and units, flags, and where the full report is.
 */
import Table from 'cli-table3'
import { hostSpeedLine } from '../harness/measure/host-speed.ts'
import { verdicts } from './claims.ts'
import { FLAG_MEANING, scenarioTable, scenariosIn, type ReportInput } from './model.ts'

export const TERMINAL_COLUMNS = 120
/** Metric columns per scenario table in the terminal (plus the cell label and the flags). */
export const TERMINAL_METRIC_COLUMNS = 5

function fitted(head: string[], widths: number[]): Table.Table {
  return new Table({ head, colWidths: widths, wordWrap: true, wrapOnWordBoundary: true, style: { head: [], border: [], 'padding-left': 1, 'padding-right': 1 } })
}

/** Column widths for n metric columns that keep a table within the terminal width. */
function widthsFor(n: number): number[] {
  const borders = n + 3
  const label = 26
  const flags = 14
  const each = Math.max(10, Math.floor((TERMINAL_COLUMNS - borders - label - flags) / Math.max(1, n)))
  return [label, ...Array(n).fill(each), flags]
}

export function renderTerminal(input: ReportInput, files?: { html: string; markdown: string; csv: string }): string {
  const out: string[] = []
  const vt = fitted(['claim of the article', 'verdict', 'measured, and why'], [34, 14, TERMINAL_COLUMNS - 34 - 14 - 4])
  for (const v of verdicts(input.results)) vt.push([v.claim, v.verdict, v.condition])
  out.push('The article\'s claims', vt.toString())
  for (const scenario of scenariosIn(input)) {
    const t = scenarioTable(input, scenario, TERMINAL_METRIC_COLUMNS)
    const table = fitted(t.header, widthsFor(t.header.length - 2))
    for (const row of t.rows) table.push(row)
    out.push('', scenario.name, table.toString(), ...t.notes.map((n) => wrap(`  ${n}`, '    ')))
  }
  out.push('', wrap(`Flags: ${Object.entries(FLAG_MEANING).map(([f, m]) => `${f} = ${m}`).join('; ')}.`))
  out.push('Latency is closed-loop: it includes queueing and is subject to coordinated omission.',
    'Compare ratios and per-request costs, not absolute requests/s (weather on a shared machine).')
  if (input.results.hostSpeed) out.push(wrap(`Host speed, ${hostSpeedLine(input.results.hostSpeed)}.`))
  const warnings = [...input.results.cells.flatMap((c) => c.warnings.map((w) => `${c.id}: ${w}`)), ...input.results.warnings]
  if (warnings.length) out.push('', 'Warnings:', ...warnings.map((w) => wrap(`! ${w}`, '    ')))
  if (files) out.push('', `report: ${files.html}`, `        ${files.markdown}`, `        ${files.csv}`)
  return out.join('\n')
}

/** Word-wraps one paragraph to the terminal width; continuation lines start with `indent`. */
export function wrap(text: string, indent = ''): string {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    const next = line === '' ? word : `${line} ${word}`
    if ([...next].length > TERMINAL_COLUMNS && line !== '') {
      lines.push(line)
      line = `${indent}${word}`
    } else {
      line = next
    }
  }
  lines.push(line)
  return lines.join('\n')
}
