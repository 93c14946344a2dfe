/**
 * One server instance: `npm run server -- --strategy <name> [--port 3000] [--profile tuned] [--alg HS256]`.
 * Prints one JSON line `{"event":"ready",...,"port":N}` on stdout when listening; SIGTERM/SIGINT close it.
 * Any misconfiguration fails here, at start, with one line on stderr and exit code 2.
 */
import { Command, InvalidArgumentError } from 'commander'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { buildApp, checkStrategyOptions } from './app.ts'
import { CLAIM_SETS, ConfigError, JWT_ALGORITHMS, PROFILES, resolveServerOptions, SERVER_DEFAULTS, STRATEGY_NAMES, type ServerOptions } from './config.ts'
import { connectRedis } from './redis.ts'
import { loadKeyMaterial, statsToken } from './secrets.ts'
import { startStatsEndpoint, type StatsEndpoint } from './stats-endpoint.ts'
import { STRATEGIES } from './strategies/index.ts'
import { applyRuntimeFlags, attachInstrumentation, READY_EVENT, statsWith } from './instrument.ts'

/** How long closing may take (open connections drained, Redis quit) before the process exits anyway. */
const CLOSE_DEADLINE_MS = 5000

function int(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n)) throw new InvalidArgumentError('not an integer')
  return n
}

/** The server's command line, parsed into its options (a bad option: one line on stderr, exit 2). */
function parseOptions(): ServerOptions {
  const program = new Command('authbench-server')
    .description('start one authbench server instance on 127.0.0.1')
    .requiredOption('--strategy <name>', `auth strategy: ${STRATEGY_NAMES.join(', ')}`)
    .option('--profile <profile>', `library profile: ${PROFILES.join(', ')}`, SERVER_DEFAULTS.profile)
    .option('--alg <alg>', `JWT algorithm: ${JWT_ALGORITHMS.join(', ')}`, SERVER_DEFAULTS.alg)
    .option('--claims <set>', `claims carried: ${CLAIM_SETS.join(', ')}`, SERVER_DEFAULTS.claims)
    .option('--port <port>', 'TCP port (0 = any free port)', int, SERVER_DEFAULTS.port)
    .option('--host <address>', 'address to bind', SERVER_DEFAULTS.host)
    .option('--users <count>', 'synthetic users user1…userN', int, SERVER_DEFAULTS.userCount)
    .option('--session-ttl <sec>', 'session lifetime in seconds', int, SERVER_DEFAULTS.sessionTtlSec)
    .option('--jwt-ttl <sec>', 'access-token lifetime in seconds (jwt, jwt-cookie, jwt-denylist)', int, SERVER_DEFAULTS.jwtTtlSec)
    .option('--refresh-access-ttl <sec>', 'access-token lifetime in seconds for the refresh strategy', int, SERVER_DEFAULTS.refreshAccessTtlSec)
    .option('--secure-cookies', 'send cookies with the Secure attribute (behind TLS)', false)
    .option('--http2', 'serve HTTP/2 over cleartext (h2c, prior knowledge) instead of HTTP/1.1', false)
    .option('--log-level <level>', 'server log level on stderr', SERVER_DEFAULTS.logLevel)
    .option('--stats-port <port>', 'serve this process\'s stats (CPU, requests, bytes, heap, GC) on this port, token required (AUTHBENCH_STATS_TOKEN, or derived from AUTHBENCH_SECRET)', int)
    .option('--stats-host <address>', 'address the stats port binds', SERVER_DEFAULTS.statsHost)
    .option('--plant-me-iterations <n>', 'add n rounds of a busy loop to every GET /me: a known cost, for npm run bench -- --calibrate', int, SERVER_DEFAULTS.plantMeIterations)
    .configureOutput({ writeErr: (s) => process.stderr.write(`authbench-server: ${s.replace(/^error: /, '')}`) })
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  program.parse()
  const o = program.opts()
  return resolveServerOptions({
    strategy: o.strategy, profile: o.profile, alg: o.alg, claims: o.claims, port: o.port, host: o.host,
    userCount: o.users, sessionTtlSec: o.sessionTtl, jwtTtlSec: o.jwtTtl, refreshAccessTtlSec: o.refreshAccessTtl,
    secureCookies: o.secureCookies, http2: o.http2, logLevel: o.logLevel, statsPort: o.statsPort ?? null, statsHost: o.statsHost, plantMeIterations: o.plantMeIterations,
    redisUrl: process.env.REDIS_URL || null,
    redisKeyPrefix: process.env.AUTHBENCH_REDIS_PREFIX || SERVER_DEFAULTS.redisKeyPrefix,
  })
}

async function main(): Promise<void> {
  const options = parseOptions()
  const strategy = STRATEGIES[options.strategy]
  checkStrategyOptions(options, options.redisUrl !== null)
  const keys = loadKeyMaterial(process.env, options.alg)
  const token = options.statsPort === null ? null : statsToken(process.env)
  if (options.statsPort !== null && token === null) throw new ConfigError('--stats-port needs a token: set AUTHBENCH_STATS_TOKEN, or AUTHBENCH_SECRET to derive it from')
  const redis: Redis | null = strategy.needsRedis ? await connectRedis(options.redisUrl!, options.redisKeyPrefix) : null
  for (const w of keys.warnings) process.stderr.write(`authbench-server: warning: ${w}\n`)

  let app: FastifyInstance
  let stats: StatsEndpoint | null = null
  try {
    app = await buildApp(options, { keys, redis })
    const read = attachInstrumentation(app)
    await app.listen({ port: options.port, host: options.host })
    if (options.statsPort !== null) stats = await startStatsEndpoint({ host: options.statsHost, port: options.statsPort, token: token!, read: (o) => statsWith(read, o) })
  } catch (err) {
    redis?.disconnect()
    throw err
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : options.port
  // everything a start runs has been compiled: the bundle's loader may save its code cache now,
  // before the run-time V8 flags change the flag hash the cache is checked against
  const emitter: NodeJS.EventEmitter = process
  emitter.emit(READY_EVENT)
  applyRuntimeFlags()
  process.stdout.write(JSON.stringify({
    event: 'ready', strategy: options.strategy, profile: options.profile, alg: options.alg,
    claims: options.claims, host: options.host, port, pid: process.pid,
    ...(stats ? { statsHost: stats.host, statsPort: stats.port } : {}),
  }) + '\n')
  closeOnSignals(app, redis, stats)
}

/** Closes the server on SIGTERM, SIGINT or the harness's disconnect, within CLOSE_DEADLINE_MS. */
function closeOnSignals(app: FastifyInstance, redis: Redis | null, stats: StatsEndpoint | null): void {
  let closing = false
  const close = async () => {
    if (closing) return
    closing = true
    // never outlive the request to stop: a connection a dead client left open must not hold us
    setTimeout(() => process.exit(1), CLOSE_DEADLINE_MS).unref()
    await Promise.all([app.close(), stats?.close()])
    await redis?.quit().catch(() => redis?.disconnect())
    process.exit(0)
  }
  process.on('SIGTERM', close) // also what the kernel sends when the harness dies (setpriv --pdeathsig)
  process.on('SIGINT', close)
  process.on('disconnect', close) // the harness that started us is gone
  if (process.send !== undefined && !process.connected) void close() // …already, while we were starting
}

main().catch((err: Error) => {
  const known = err instanceof ConfigError || (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
  process.stderr.write(`authbench-server: ${known ? err.message : err.stack ?? err.message}\n`)
  process.exit(known ? 2 : 1)
})
