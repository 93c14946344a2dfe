/**
 * `npm run kubernetes -- [--strategy jwt] [--profile tuned] [--replicas 2] [--shards 2] [--image …] [--out deploy/kubernetes]`:
 * the topology as Kubernetes manifests, built from kubernetes-models' typed classes and validated
 * against the API schemas they bundle, offline. Strategy, profile, replicas and shards are parameters.
 * What deploy/kubernetes/ holds is this script's output for the defaults (a test checks that).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command, InvalidArgumentError } from 'commander'
import { stringify } from 'yaml'
import { STRATEGY_NAMES, PROFILES } from '../servers/config.ts'
import { topology, type TopologyParams } from './kubernetes-topology.ts'

const int = (v: string) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('an integer from 1 to 64')
  return n
}
const oneOf = (allowed: readonly string[]) => (v: string) => {
  if (!allowed.includes(v)) throw new InvalidArgumentError(`one of ${allowed.join(', ')}`)
  return v
}

export const DEFAULTS: TopologyParams = { strategy: 'jwt', profile: 'tuned', replicas: 2, shards: 2, image: 'authbench:latest', namespace: 'authbench' }

/** The manifests as files: the topology (applied first), and the merge Job (applied once the bench Job completes). */
export function renderManifests(p: TopologyParams): Record<string, string> {
  const { resources, mergeJob } = topology(p)
  const head = `# npm run kubernetes -- --strategy ${p.strategy} --profile ${p.profile} --replicas ${p.replicas} --shards ${p.shards} --image ${p.image}\n`
  const docs = (xs: readonly object[]) => xs.map((x) => stringify(x, { lineWidth: 0, version: '1.1' })).join('---\n')
  return { 'authbench.yaml': head + docs(resources), 'merge-job.yaml': head + docs([mergeJob]) }
}

function main(): void {
  const program = new Command('authbench-kubernetes')
    .description('write the Kubernetes manifests of the topology: Redis, the app, HAProxy, the load generators as an Indexed Job, the merge')
    .option('--strategy <name>', 'strategy the app runs', oneOf(STRATEGY_NAMES), DEFAULTS.strategy)
    .option('--profile <p>', 'library profile', oneOf(PROFILES), DEFAULTS.profile)
    .option('--replicas <n>', 'app instances', int, DEFAULTS.replicas)
    .option('--shards <n>', 'load-generator pods (an Indexed Job)', int, DEFAULTS.shards)
    .option('--image <ref>', 'the authbench image (see Dockerfile)', DEFAULTS.image)
    .option('--out <dir>', 'where the manifests go', 'deploy/kubernetes')
    .configureOutput({ writeErr: (s) => process.stderr.write(`authbench kubernetes: ${s.replace(/^error: /, '')}`) })
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  program.parse()
  const o = program.opts<TopologyParams & { out: string }>()
  mkdirSync(o.out, { recursive: true })
  for (const [name, text] of Object.entries(renderManifests({ ...o, namespace: DEFAULTS.namespace }))) {
    writeFileSync(join(o.out, name), text)
    process.stdout.write(`${join(o.out, name)}\n`)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main()
