import { measureMechanisms } from './mechanisms.ts'

// The mechanism loops as a child of the run (harness/measure/mechanism-run.ts starts it, bundled like the
// servers): prints one JSON line, MechanismCosts.
const timeMs = Number(process.env.AUTHBENCH_MECHANISM_TIME_MS ?? 300)
measureMechanisms({ timeMs, redisUrl: process.env.REDIS_URL || null }).then(
  (m) => { process.stdout.write(JSON.stringify(m) + '\n') },
  (err: Error) => { process.stderr.write(`authbench-mechanisms: ${err.message}\n`); process.exitCode = 1 },
)
