/**
 * One load-generator process of a pool (harness/load/process-pool.ts): it keeps the connection plans
 * it is given, runs autocannon over one of them when asked, and answers with the outcome, its latency
 * histogram included, so that the pool merges them exactly. It exits when its parent goes.
 */
import { runLoad, type ConnectionPlan } from './load.ts'

type Message =
  | { type: 'plans'; id: number; plans: ConnectionPlan[] }
  | { type: 'run'; id: number; plansId: number; durationSec: number }

const plans = new Map<number, ConnectionPlan[]>()
const send = (m: unknown) => process.send!(m)

process.on('message', (m: Message) => {
  if (m.type === 'plans') {
    plans.set(m.id, m.plans)
    return
  }
  runLoad({ connections: plans.get(m.plansId) ?? [], durationSec: m.durationSec }).then(
    (outcome) => send({ id: m.id, outcome }),
    (err: Error) => send({ id: m.id, error: err.message }),
  )
})
process.on('disconnect', () => process.exit(0))
send({ ready: true })
