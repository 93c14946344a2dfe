/**
 * The topology as code, validated offline: docker-compose.yml through Debian's docker-compose
 * (`config -q`, no engine needed), the Kubernetes manifests against the API schemas kubernetes-models
 * bundles, deploy/kubernetes/ equal to what `npm run kubernetes` writes, and the bench command lines
 * of the compose service and of the Indexed Job parsed by the real CLI (`--plan`).
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { Job } from 'kubernetes-models/batch/v1/Job'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Namespace } from 'kubernetes-models/v1/Namespace'
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim'
import { Service } from 'kubernetes-models/v1/Service'
import { describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import { DEFAULTS, renderManifests } from '../scripts/kubernetes.ts'

const ROOT = join(import.meta.dirname, '..')
const hasCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0
const KINDS: Record<string, new (data: never) => { validate(): void }> = { Namespace, Deployment, Service, ConfigMap, PersistentVolumeClaim, Job }

/** `npm run bench -- <args> --plan`: the real CLI parses them and plans, running nothing. */
function plan(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', ...args, '--plan'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, AUTHBENCH_SECRET: 'x'.repeat(32) } })
}
const afterDashes = (command: string[]) => command.slice(command.indexOf('--') + 1)

describe('docker-compose.yml', () => {
  it.skipIf(!hasCompose)('is valid for docker-compose, and refuses to run without a secret from the environment', () => {
    const ok = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, AUTHBENCH_SECRET: 'a'.repeat(32) } })
    expect(ok.status, ok.stderr).toBe(0)
    const none = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, AUTHBENCH_SECRET: '' } })
    expect(none.status).not.toBe(0)
    expect(none.stderr).toMatch(/set AUTHBENCH_SECRET/)
  })

  it.skipIf(!hasCompose)('runs the bench in target mode with a command line the real CLI accepts', () => {
    const config = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, AUTHBENCH_SECRET: 'a'.repeat(32), STRATEGY: 'redis-session' } })
    const services = (parse(config.stdout) as { services: Record<string, { command: string[]; image?: string }> }).services
    expect(Object.keys(services).sort()).toEqual(['app', 'balancer', 'balancer-sticky', 'bench', 'redis'])
    const args = afterDashes(services.bench!.command)
    expect(args).toEqual(expect.arrayContaining(['--target', 'http://balancer:8080', '--target-stats', 'dns+http://app:3001', '--strategies', 'redis-session']))
    const r = plan(args)
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain('throughput/redis-session/tuned/HS256/x1')
    expect(services.app!.command).toEqual(expect.arrayContaining(['--strategy', 'redis-session', '--stats-port', '3001', '--host', '0.0.0.0']))
  }, 60_000)
})

describe('deploy/kubernetes', () => {
  it('holds what npm run kubernetes writes for the defaults', () => {
    for (const [name, text] of Object.entries(renderManifests(DEFAULTS))) expect(readFileSync(join(ROOT, 'deploy', 'kubernetes', name), 'utf8'), name).toBe(text)
  })

  it('is valid against the Kubernetes API schemas, every object of it', () => {
    const kinds: string[] = []
    for (const name of ['authbench.yaml', 'merge-job.yaml']) {
      for (const doc of parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'kubernetes', name), 'utf8'))) {
        const data = doc.toJS() as { kind: string }
        const Kind = KINDS[data.kind]
        expect(Kind, data.kind).toBeDefined()
        expect(() => new Kind!(data as never).validate()).not.toThrow()
        kinds.push(data.kind)
      }
    }
    expect(kinds.filter((k) => k === 'Job')).toHaveLength(2) // the load generators, and the merge
    const broken = { ...(parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'kubernetes', 'merge-job.yaml'), 'utf8'))[0]!.toJS() as object), spec: { backoffLimit: 'none' } }
    expect(() => new Job(broken as never).validate()).toThrow() // the check can fail
  })

  it('takes strategy, profile, replicas and shards as parameters, and its shard pods run a command line the real CLI accepts', () => {
    const text = renderManifests({ ...DEFAULTS, strategy: 'redis-session', replicas: 4, shards: 3 })['authbench.yaml']!
    const docs = parseAllDocuments(text).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> })
    expect(docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'app')!.spec.replicas).toBe(4)
    const job = docs.find((d) => d.kind === 'Job')!.spec as { completionMode: string; completions: number; parallelism: number; template: { spec: { containers: Array<{ args: string[] }> } } }
    expect([job.completionMode, job.completions, job.parallelism]).toEqual(['Indexed', 3, 3])
    const args = job.template.spec.containers[0]!.args
    expect(args).toEqual(expect.arrayContaining(['--shard', '$(JOB_COMPLETION_INDEX)/3', '--strategies', 'redis-session']))
    // as Kubernetes expands $(VAR) from the pod's env in pod 1 of the Indexed Job
    const r = plan(afterDashes(args.map((a) => a.replaceAll('$(JOB_COMPLETION_INDEX)', '1').replaceAll('$(RUN_ID)', 'run-42'))))
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain('throughput/redis-session/tuned/HS256/x1')
  }, 60_000)
})
