/**
 * Separate machines on one machine, for tests: Linux network namespaces joined by veth pairs to a
 * bridge, each namespace an address of its own, so that traffic crosses a real (virtual) network
 * instead of loopback. Root only; `netnsUnavailable()` says why not elsewhere. Everything made here is
 * removed by `remove()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'

const ip = (...args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`)
  return r.stdout
}

/** Why namespaces cannot be made here, or null where they can. */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return 'not Linux'
  if (process.getuid?.() !== 0) return 'not root (ip netns needs CAP_SYS_ADMIN)'
  const probe = `abprobe${process.pid}`
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' })
  if (r.error) return 'no ip command (iproute2)'
  if (r.status !== 0) return `ip netns add refused: ${r.stderr.trim()}`
  spawnSync('ip', ['netns', 'del', probe])
  return null
}

export interface Host {
  name: string
  /** Its address on the bridge's network. */
  address: string
  /** The veth end inside the namespace. */
  device: string
}

/** A bridge in this namespace (address .1) and one namespace per host (.2, .3, …) on 10.213.x.0/24. */
export class VirtualNetwork {
  readonly hosts: Host[] = []
  readonly hostAddress: string
  private readonly bridge: string
  private readonly prefix: string
  private readonly children = new Set<ChildProcess>()

  constructor(names: readonly string[]) {
    const tag = `ab${process.pid % 100_000}`
    this.bridge = `${tag}br`
    this.prefix = `10.213.${20 + (process.pid % 200)}`
    this.hostAddress = `${this.prefix}.1`
    try {
      ip('link', 'add', this.bridge, 'type', 'bridge')
      ip('addr', 'add', `${this.hostAddress}/24`, 'dev', this.bridge)
      ip('link', 'set', this.bridge, 'up')
      names.forEach((name, k) => this.addHost(`${tag}${name}`, `${this.prefix}.${k + 2}`))
    } catch (err) {
      this.remove()
      throw err
    }
  }

  private addHost(name: string, address: string): void {
    const [outside, inside] = [`${name}h`, `${name}n`]
    ip('netns', 'add', name)
    this.hosts.push({ name, address, device: inside })
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside)
    ip('link', 'set', outside, 'master', this.bridge, 'up')
    ip('link', 'set', inside, 'netns', name)
    ip('netns', 'exec', name, 'ip', 'addr', 'add', `${address}/24`, 'dev', inside)
    ip('netns', 'exec', name, 'ip', 'link', 'set', inside, 'up')
    ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up')
  }

  host(suffix: string): Host {
    return this.hosts.find((h) => h.name.endsWith(suffix))!
  }

  /** A process inside a host's namespace (stopped by `remove()` if still running). */
  spawnIn(host: Host, command: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', host.name, ...command], { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    this.children.add(child)
    child.once('exit', () => this.children.delete(child))
    return child
  }

  /** Bytes a host has sent over its veth (the kernel's own counter). */
  sentBytes(host: Host): number {
    return Number(ip('netns', 'exec', host.name, 'cat', `/sys/class/net/${host.device}/statistics/tx_bytes`).trim())
  }

  /**
   * Stops every process started in a namespace, deletes the veth pairs (a namespace outlives its
   * deletion while sockets in TIME_WAIT hold it, and its veth with it), the namespaces and the bridge.
   */
  remove(): void {
    for (const c of this.children) c.kill('SIGKILL')
    for (const h of this.hosts) {
      spawnSync('ip', ['link', 'del', h.device.replace(/n$/, 'h')])
      spawnSync('ip', ['netns', 'del', h.name])
    }
    spawnSync('ip', ['link', 'del', this.bridge])
  }
}
