/**
 * The Kubernetes objects of a run across machines, as kubernetes-models classes (each validated
 * against the Kubernetes API schema on construction): the run secret is referenced, never written
 * (`kubectl create secret generic authbench --from-literal=AUTHBENCH_SECRET=…`).
 */
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { Job } from 'kubernetes-models/batch/v1/Job'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Namespace } from 'kubernetes-models/v1/Namespace'
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim'
import { Service } from 'kubernetes-models/v1/Service'

export interface TopologyParams { strategy: string; profile: string; replicas: number; shards: number; image: string; namespace: string }

const APP_PORT = 3000
const STATS_PORT = 3001
const BALANCER_PORT = 8080
const RESULTS = '/results'
const secretEnv = { name: 'AUTHBENCH_SECRET', valueFrom: { secretKeyRef: { name: 'authbench', key: 'AUTHBENCH_SECRET' } } }

type Valid = { validate(): void; toJSON(): unknown }
const checked = (m: Valid): object => {
  m.validate()
  return m.toJSON() as object
}

function redis(name: string, ns: string): object[] {
  const labels = { app: name }
  return [
    checked(new Deployment({ metadata: { name, namespace: ns }, spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name, image: 'redis:7-bookworm', args: ['--save', '', '--appendonly', 'no'], ports: [{ containerPort: 6379 }] }] } } } })),
    checked(new Service({ metadata: { name, namespace: ns }, spec: { selector: labels, ports: [{ port: 6379, targetPort: 6379 }] } })),
  ]
}

function app(p: TopologyParams): object[] {
  const labels = { app: 'app' }
  const args = ['run', 'server', '--', '--strategy', p.strategy, '--profile', p.profile, '--host', '0.0.0.0', '--port', String(APP_PORT),
    '--stats-port', String(STATS_PORT), '--stats-host', '0.0.0.0', '--users', '20000']
  return [
    checked(new Deployment({ metadata: { name: 'app', namespace: p.namespace }, spec: { replicas: p.replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{
      name: 'app', image: p.image, command: ['npm'], args, env: [secretEnv, { name: 'REDIS_URL', value: 'redis://redis:6379' }],
      ports: [{ containerPort: APP_PORT, name: 'http' }, { containerPort: STATS_PORT, name: 'stats' }],
      readinessProbe: { httpGet: { path: '/health', port: APP_PORT } },
    }] } } } })),
    // headless: its name resolves to every ready replica (the balancer's server-template, the bench's dns+http stats)
    checked(new Service({ metadata: { name: 'app-stats', namespace: p.namespace }, spec: { clusterIP: 'None', selector: labels, ports: [{ name: 'stats', port: STATS_PORT, targetPort: STATS_PORT }] } })),
  ]
}

const HAPROXY_CFG = `global
  maxconn 8192
resolvers kube
  parse-resolv-conf
  hold valid 1s
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind :${BALANCER_PORT}
  default_backend app
backend app
  balance roundrobin
  server-template app 64 app-stats:${APP_PORT} check resolvers kube init-addr none
`

function balancer(ns: string): object[] {
  const labels = { app: 'balancer' }
  return [
    checked(new ConfigMap({ metadata: { name: 'haproxy', namespace: ns }, data: { 'haproxy.cfg': HAPROXY_CFG } })),
    checked(new Deployment({ metadata: { name: 'balancer', namespace: ns }, spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: {
      containers: [{ name: 'haproxy', image: 'haproxy:2.6-bookworm', ports: [{ containerPort: BALANCER_PORT }], volumeMounts: [{ name: 'cfg', mountPath: '/usr/local/etc/haproxy' }] }],
      volumes: [{ name: 'cfg', configMap: { name: 'haproxy' } }],
    } } } })),
    checked(new Service({ metadata: { name: 'balancer', namespace: ns }, spec: { selector: labels, ports: [{ port: BALANCER_PORT, targetPort: BALANCER_PORT }] } })),
  ]
}

/**
 * The bench's command line in a shard pod ($(VAR) is expanded by Kubernetes from the container's env):
 * every shard drives the default levels (1, 10, 64 connections), so the run's levels are n times those.
 */
export function benchArgs(p: TopologyParams): string[] {
  const levels = [1, 10, 64].map((c) => c * p.shards).join(',')
  return ['run', 'bench', '--', '--no-pin', '--scenarios', 'throughput', '--connections', levels, '--target', `http://balancer:${BALANCER_PORT}`, '--target-stats', `dns+http://app-stats:${STATS_PORT}`,
    '--strategies', p.strategy, '--profile', p.profile, '--shard', `$(JOB_COMPLETION_INDEX)/${p.shards}`, '--run-id', '$(RUN_ID)', '--out', `${RESULTS}/shard-$(JOB_COMPLETION_INDEX)`]
}

const resultsVolume = { name: 'results', persistentVolumeClaim: { claimName: 'authbench-results' } }

function bench(p: TopologyParams): object {
  const env = [
    secretEnv,
    { name: 'REDIS_URL', value: 'redis://redis:6379' },
    { name: 'AUTHBENCH_RENDEZVOUS_URL', value: 'redis://rendezvous:6379' },
    { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
    // unique per Job: a run id reused within the rendezvous keys' hour would meet the last run's counts
    { name: 'RUN_ID', valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/controller-uid']" } } },
  ]
  return checked(new Job({ metadata: { name: 'bench', namespace: p.namespace }, spec: {
    completionMode: 'Indexed', completions: p.shards, parallelism: p.shards, backoffLimit: 0,
    template: { metadata: { labels: { app: 'bench' } }, spec: {
      restartPolicy: 'Never',
      // one shard per node where the cluster has the nodes: generators that share a core measure each other
      affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'bench' } } } }] } },
      containers: [{ name: 'bench', image: p.image, command: ['npm'], args: benchArgs(p), env, volumeMounts: [{ name: 'results', mountPath: RESULTS }] }],
      volumes: [resultsVolume],
    } },
  } }))
}

/** Everything but the merge, and the merge Job (apply it once `kubectl wait --for=condition=complete job/bench` returns). */
export function topology(p: TopologyParams): { resources: object[]; mergeJob: object } {
  const ns = p.namespace
  const resources = [
    checked(new Namespace({ metadata: { name: ns } })),
    ...redis('redis', ns),
    ...redis('rendezvous', ns),
    ...app(p),
    ...balancer(ns),
    // shards on several nodes write here: a ReadWriteMany storage class (or your own claim of that name)
    checked(new PersistentVolumeClaim({ metadata: { name: 'authbench-results', namespace: ns }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } } })),
    bench(p),
  ]
  const mergeJob = checked(new Job({ metadata: { name: 'merge', namespace: ns }, spec: { backoffLimit: 0, template: { spec: {
    restartPolicy: 'Never',
    containers: [{ name: 'merge', image: p.image, command: ['sh', '-c'], args: [`npm run merge -- ${RESULTS}/shard-*/* --out ${RESULTS}/merged`], volumeMounts: [{ name: 'results', mountPath: RESULTS }] }],
    volumes: [resultsVolume],
  } } } }))
  return { resources, mergeJob }
}
