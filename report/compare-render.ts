/**
 * A comparison as text: the change table (terminal and compare.md), the ratio-agreement lines, and
 * compare.md itself.
 */
import { EXPECTED_AGREEMENT_SAME_CODE, type Comparison, type MetricChange } from './compare.ts'
import { fmt } from './model.ts'
import { FDR_Q, MDE_POWER } from './significance.ts'

/**
 * The ratio agreement in a few lines of at most `width` columns: how many, against what two runs of the
 * same code would give, and which not. Empty without throughput cells measured in both runs.
 */
export function agreementLines(c: Comparison, width = 120): string[] {
  const all = c.ratioAgreement
  if (all.length === 0) return []
  const head = all.filter((a) => a.headline)
  const lines = [
    `throughput CPU ratios, every level: ${all.filter((a) => a.agree).length} of ${all.length} medians inside each other's 95 % CI` +
      (head.length ? ` (headline: ${head.filter((a) => a.agree).length} of ${head.length})` : ''),
    `(two runs of the same code with calibrated intervals: about ${Math.round(EXPECTED_AGREEMENT_SAME_CODE * 100)} % of ratios)`,
  ]
  const off = all.filter((a) => !a.agree).map((a) => `${a.cellLabel}${a.connections === null ? '' : ` @${a.connections}`} ${fmt(a.baseline.median)} → ${fmt(a.candidate.median)}`)
  let line = 'not inside:'
  for (const item of off) {
    if (line.length + item.length + 2 > width) { lines.push(line + ','); line = ' ' }
    line += `${line.endsWith(':') || line === ' ' ? ' ' : ', '}${item}`
  }
  if (off.length) lines.push(line)
  return lines
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${x >= 0 ? '+' : ''}${fmt(x * 100)} %`)

const small = (x: number) => (x < 0.001 ? '<0.001' : fmt(x))

/**
 * What a change says in words: WORSE or better where significant (after the false discovery rate),
 * "host?" where a host-timed figure moved while the hosts' speeds differ, and otherwise the bound the
 * test puts on it — never a bare "no change".
 */
export function changeVerdict(x: MetricChange): string {
  if (x.p === null) return 'not tested'
  if (x.hostWeather) return `${x.candidate > x.baseline ? 'up' : 'down'}, host?`
  if (x.worse) return 'WORSE'
  if (x.significant) return 'better'
  return x.mdeRel === null ? 'no sig. change' : `no change > ±${fmt(x.mdeRel * 100)} %`
}

/** One row per metric change, for the terminal and for compare.md. */
export function changeRows(c: Comparison): string[][] {
  return c.changes.map((x) => [
    x.cellLabel, x.scenario, x.label, fmt(x.baseline), fmt(x.candidate), pct(x.changeRel),
    x.p === null || x.q === null ? `n=${x.nBaseline}/${x.nCandidate}: too few repeats` : `q=${small(x.q)} (p=${small(x.p)})`,
    x.mdeRel === null ? '–' : `±${fmt(x.mdeRel * 100)} %`,
    changeVerdict(x),
  ])
}
export const CHANGE_HEADER = ['cell', 'scenario', 'metric', 'baseline', 'candidate', 'change', 'q (p)', 'MDE', 'verdict']

/** How compare decides, in one paragraph (compare.md, compare.html). */
export const METHOD_SENTENCE = `Welch's t-test on the logarithms of per-repeat values (windows inside a repeat are not independent and are not used as samples); ` +
  `Benjamini–Hochberg false discovery rate q < ${FDR_Q} in two families, host-timed figures (CPU time, rates, latencies) and the rest (ratios measured within a run, bytes, counts); ` +
  `MDE: the smallest change the test finds with ${MDE_POWER * 100} % power at this metric's repeats and spread. A host-timed change is called the code's only where both runs' host-speed probes agree.`

/** compare.md for one candidate; `verdictLines` lists the claims whose verdict changed (verdict-margins.ts verdictChangeLines). */
export function renderCompareMarkdown(c: Comparison, baselineDir: string, candidateDir: string, verdictLines: readonly string[] = []): string {
  const row = (cells: string[]) => `| ${cells.map((s) => s.replace(/\|/g, '\\|')).join(' | ')} |`
  return [
    '# authbench compare', '',
    `Baseline \`${baselineDir}\` → candidate \`${candidateDir}\`. ${METHOD_SENTENCE}`, '',
    ...c.warnings.map((w) => `> **Warning:** ${w}`), c.warnings.length ? '' : '',
    ...(verdictLines.length ? [...verdictLines.map((l) => `- ${l}`), ''] : ['No verdict changed.', '']),
    row(CHANGE_HEADER), row(CHANGE_HEADER.map(() => '---')), ...changeRows(c).map(row), '',
    ...(agreementLines(c).length ? [agreementLines(c).join('<br>'), ''] : []),
    ...(c.onlyInBaseline.length ? [`Only in the baseline: ${c.onlyInBaseline.map((x) => `\`${x}\``).join(', ')}`, ''] : []),
    ...(c.onlyInCandidate.length ? [`Only in the candidate: ${c.onlyInCandidate.map((x) => `\`${x}\``).join(', ')}`, ''] : []),
  ].join('\n')
}
