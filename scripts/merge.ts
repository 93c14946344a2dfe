/**
 * `npm run merge -- <shard run dirs…> [--out <dir>]`: the run folders of a sharded run (`--shard i/n`)
 * as one run folder — results.json, report, CSV — that compare and the verdicts read like any other.
 */
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Command } from 'commander'
import { writeFileAtomic } from '../harness/results/atomic-file.ts'
import { gitSha } from '../harness/measure/machine.ts'
import { claimRunDir, runDirName } from '../harness/run/run-dir.ts'
import { loadRun, ReportError, writeReport } from '../report/index.ts'
import { MergeError, mergeShardRuns } from '../report/merge.ts'
import { SCENARIOS } from '../scenarios/index.ts'

async function main(): Promise<number> {
  const program = new Command('authbench-merge')
    .description('merge the run folders of load-generator shards (--shard i/n) into one run folder')
    .argument('<shard-runs...>', 'the shards\' run folders')
    .option('--out <dir>', 'the merged run folder (default: a new run folder beside the first shard\'s)')
    .configureOutput({ writeErr: (s) => process.stderr.write(`authbench merge: ${s.replace(/^error: /, '')}`) })
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  program.parse()
  const dirs = program.args
  const o = program.opts<{ out?: string }>()
  const merged = mergeShardRuns(dirs.map((d) => loadRun(d).results), SCENARIOS, dirs)
  const out = o.out ?? claimRunDir(dirname(dirs[0]!), `${runDirName(gitSha())}-merged`)
  mkdirSync(out, { recursive: true })
  writeFileAtomic(join(out, 'results.json'), JSON.stringify(merged, null, 2) + '\n')
  const files = await writeReport(out, SCENARIOS, merged)
  process.stdout.write(`${join(out, 'results.json')}\n${Object.values(files).join('\n')}\n`)
  process.stdout.write(`authbench merge: ${merged.merged!.shards} shards; the largest window-start skew ${merged.merged!.maxWindowStartSkewMs.toFixed(1)} ms\n`)
  return 0
}

main().then((code) => process.exit(code), (err: Error) => {
  process.stderr.write(`authbench merge: ${err.message}\n`)
  process.exit(err instanceof ReportError || err instanceof MergeError ? 2 : 1)
})
