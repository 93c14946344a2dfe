import { Orchestrator } from './harness/orchestrator.ts'
import { loginPopulation, connectionPlans } from './harness/population.ts'
import { measuredLoad } from './scenarios/common.ts'
import { runLoad } from './harness/load.ts'
import { pinSelf, planPlacement } from './harness/placement.ts'
const placement = planPlacement(true)
pinSelf(placement)
const o = new Orchestrator(placement, null)
const variants: Record<string, string[]> = { default: [], semi16: ['--max-semi-space-size=16'], semi64: ['--max-semi-space-size=64'] }
const res: Record<string, number[]> = {}
const envs: Record<string, any> = {}
const plans: Record<string, any> = {}
for (const [name, args] of Object.entries(variants)) {
  envs[name] = await o.startEnv({ strategy: 'redis-session', profile: 'floor', alg: 'HS256', instances: 1, balancer: 'none', nodeArgs: args })
  const creds = await loginPopulation(envs[name].urls, 2000)
  plans[name] = { me: connectionPlans(envs[name].urls, creds, 10, '/me'), hc: connectionPlans(envs[name].urls, creds, 10, '/hc') }
  await runLoad({ connections: plans[name].me, durationSec: 2 }); await runLoad({ connections: plans[name].hc, durationSec: 1 })
}
for (let k = 0; k < 6; k++) for (const name of Object.keys(variants)) {
  const env = envs[name]
  const me = await measuredLoad(env, '/me', plans[name].me, { durationSec: 0.5 })
  const hc = await measuredLoad(env, '/hc', plans[name].hc, { durationSec: 0.5 })
  ;(res[name] ??= []).push(me.serverCpuMicrosPerRequest! / hc.serverCpuMicrosPerRequest!)
}
for (const [n, xs] of Object.entries(res)) { const s = [...xs].sort((a, b) => a - b); console.log(n.padEnd(8), 'median', ((s[2]! + s[3]!) / 2).toFixed(2), xs.map((x) => x.toFixed(2)).join(' ')) }
await o.teardown()
