/**
 * Shards meet four times around every measured window (harness/measure/probes.ts, measureAround): at
 * each meeting every shard counts itself in on a Redis key of the meeting's sequence number and waits
 * until all have (polling every millisecond, so the starts spread by about that plus a round trip).
 * Every shard runs the same cells, repeats, levels and pairs in the same order, so the n-th meeting of
 * one is the n-th of all.
 */
import { Redis } from 'ioredis'
import { redactUrl } from '../../servers/redis.ts'

const POLL_MS = 1
/** How long a shard waits for the others at one window before the cell fails. */
export const RENDEZVOUS_TIMEOUT_MS = 120_000

export class Rendezvous {
  private seq = 0
  private readonly redis: Redis
  /** For messages: the URL without its password. */
  private readonly url: string

  constructor(url: string, private readonly runId: string, private readonly count: number, private readonly timeoutMs = RENDEZVOUS_TIMEOUT_MS) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true })
    this.redis.on('error', () => {})
    this.url = redactUrl(url)
  }

  /** Counts this shard in at the next meeting and resolves once every shard has. */
  readonly arrive = async (): Promise<void> => {
    const key = `authbench:rendezvous:${this.runId}:${++this.seq}`
    if (this.redis.status === 'wait') await this.redis.connect()
    const arrived = await this.redis.incr(key)
    if (arrived === 1) await this.redis.expire(key, 3600)
    const deadline = Date.now() + this.timeoutMs
    for (let n = arrived; n < this.count; n = Number(await this.redis.get(key))) {
      if (Date.now() > deadline) throw new Error(`rendezvous ${this.seq} (4 a window) (${this.url}, run ${this.runId}): ${n} of ${this.count} shards arrived within ${this.timeoutMs / 1000} s`)
      await new Promise((r) => setTimeout(r, POLL_MS))
    }
  }

  close(): void {
    this.redis.disconnect()
  }
}
