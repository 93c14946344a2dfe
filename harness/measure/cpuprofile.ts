/**
 * Reading a V8 CPU profile (`node --cpu-prof`): CPU time per request attributed to packages, for the
 * samples taken inside a time window (a load phase), so that `/me` and `/health` served by one
 * process can be told apart. Pure: a parsed .cpuprofile in, a table out.
 */

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

/** Where a sample's time goes. Package names from node_modules; the rest by kind. */
export function categoryOf(url: string, functionName: string): string | null {
  if (functionName === '(garbage collector)') return 'GC'
  if (functionName === '(idle)') return 'idle'
  if (functionName === '(program)') return 'V8/native (program)'
  if (!url) return null // a native frame: its caller says whose work it is
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (pkg) return pkg[1]!
  if (/^node:(internal\/)?crypto|internal\/crypto/.test(url)) return 'node:crypto'
  if (/^node:(internal\/)?(http|_http|net|stream|streams|dns|tls|timers|url|buffer|events|async_hooks)|internal\/(http|net|stream|streams|timers|url|buffer|event_target|async_hooks|process\/task_queues)/.test(url)) return 'node: http/net/streams'
  if (url.startsWith('node:')) return 'node: other'
  if (/\/servers\/|\/harness\/|\/scenarios\//.test(url)) return 'authbench'
  return 'other'
}

/** CPU µs per request in a window, by category (idle excluded), and the window's total. */
export interface Attribution {
  requests: number
  totalMicrosPerRequest: number
  byCategory: Map<string, number>
}

/**
 * Self time of every sample taken in [fromMicros, toMicros] (the profile's own clock: CLOCK_MONOTONIC
 * in µs, the same as `process.hrtime` in any process on the machine), attributed to the category of
 * the innermost frame that has one, divided by `requests`.
 */
export function attribute(profile: CpuProfile, fromMicros: number, toMicros: number, requests: number): Attribution {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const categoryCache = new Map<number, string>()
  const categoryOfNode = (id: number): string => {
    const cached = categoryCache.get(id)
    if (cached) return cached
    let cur: number | undefined = id
    let cat: string | null = null
    while (cur !== undefined && cat === null) {
      const n = byId.get(cur)!
      cat = categoryOf(n.callFrame.url, n.callFrame.functionName)
      cur = parent.get(cur)
    }
    const result = cat ?? 'V8/native (program)'
    categoryCache.set(id, result)
    return result
  }
  const totals = new Map<string, number>()
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0
    // a sample's time is the gap to the next sample
    const dt = profile.timeDeltas[i + 1] ?? 0
    if (t < fromMicros || t > toMicros) continue
    const cat = categoryOfNode(profile.samples[i]!)
    if (cat === 'idle') continue
    totals.set(cat, (totals.get(cat) ?? 0) + dt)
  }
  const byCategory = new Map([...totals].map(([k, v]) => [k, v / Math.max(1, requests)] as const).sort((a, b) => b[1] - a[1]))
  return { requests, totalMicrosPerRequest: [...byCategory.values()].reduce((a, b) => a + b, 0), byCategory }
}
