/**
 * report.md — GitHub-flavoured Markdown for pasting into issues and READMEs: the verdict table,
 * then one short table per scenario (at most 8 columns, units in the headers).
 */
import { hostSpeedLine } from '../harness/measure/host-speed.ts'
import { verdictsWithMargins } from './verdict-margins.ts'
import { MECHANISM_SECTION, mechanismTable, scenarioTable, scenariosIn, type ReportInput } from './model.ts'

/** Metric columns per scenario table: with the cell label and the flags, 8 columns in all. */
export const MD_METRIC_COLUMNS = 6

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')
const row = (cells: readonly string[]) => `| ${cells.map(esc).join(' | ')} |`

export function renderMarkdown(input: ReportInput): string {
  const r = input.results
  const out: string[] = [
    `# authbench report`,
    '',
    `Run \`${r.gitSha?.slice(0, 7) ?? 'no git'}\`, ${r.startedAt} · ${r.status} · ${r.machine.cpuModel}, ${r.machine.cores} cores · Node ${r.machine.node}`,
    '',
    ...(r.hostSpeed ? [`Host speed, ${hostSpeedLine(r.hostSpeed)}.`, ''] : []),
    '## The article\'s claims',
    '',
    row(['claim', 'verdict', 'why (measured)']),
    row(['---', '---', '---']),
    ...verdictsWithMargins(r).map((v) => row([v.claim, `**${v.verdict}**${v.margin.fragile ? ' (fragile)' : ''}`, v.margin.text ? `${v.condition} — ${v.margin.text}` : v.condition])),
    '',
  ]
  for (const scenario of scenariosIn(input)) {
    const t = scenarioTable(input, scenario, MD_METRIC_COLUMNS)
    out.push(`## ${scenario.name}`, '', scenario.description, '', row(t.header), row(t.header.map(() => '---')), ...t.rows.map(row), '', ...t.notes.map((n) => `- ${n}`), ...(t.notes.length ? [''] : []))
  }
  const mech = mechanismTable(input)
  if (mech.rows.length || mech.notes.length) {
    out.push(`## ${MECHANISM_SECTION}`, '', ...(mech.rows.length ? [row(mech.header), row(mech.header.map(() => '---')), ...mech.rows.map(row), ''] : []), ...mech.notes.map((n) => `- ${n}`), '')
  }
  const flagged = r.cells.filter((c) => c.warnings.length > 0)
  if (r.warnings.length || flagged.length) {
    out.push('## Warnings', '', ...r.warnings.map((w) => `- ${w}`), ...flagged.flatMap((c) => c.warnings.map((w) => `- \`${c.id}\`: ${w}`)), '')
  }
  out.push('Data: [results.json](results.json) · [results.csv](results.csv) · [report.html](report.html)', '')
  return out.join('\n')
}
