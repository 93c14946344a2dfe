-- authbench: feeds wrk the same credential rotation as autocannon's connection plans (harness/wrk.ts).
-- Thread t reads <folder>/t<t>.req: the raw requests of the connection plans given to it, byte for byte
-- what autocannon sends, separated by NUL bytes. It cycles through them, one per request.
-- At the end it prints one line, `authbench-wrk {json}`, with what harness/wrk.ts records.

local threads = {}

-- This process's CPU time so far (all threads), in clock ticks, from /proc/self/stat; -1 if unreadable.
local function cpu_ticks()
  local f = io.open("/proc/self/stat", "r")
  if not f then return -1 end
  local stat = f:read("*a")
  f:close()
  local fields = {}
  for x in stat:match("%) (.*)$"):gmatch("%S+") do fields[#fields + 1] = x end
  -- after "pid (comm) ", fields[1] is field 3 (state): utime is field 14, stime 15
  return tonumber(fields[12]) + tonumber(fields[13])
end

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  local f = assert(io.open(args[1] .. "/t" .. id .. ".req", "rb"))
  local data = f:read("*a")
  f:close()
  reqs = {}
  local pos = 1
  while pos <= #data do
    local nul = string.find(data, "\0", pos, true)
    reqs[#reqs + 1] = string.sub(data, pos, nul - 1)
    pos = nul + 1
  end
  count = #reqs
  at = 0
  -- CPU spent before this thread sends anything (start-up, reading requests): not load
  ticks_at_init = cpu_ticks()
end

function request()
  at = at % count + 1
  return reqs[at]
end

function done(summary, latency, requests)
  local init_ticks = 0
  for _, t in ipairs(threads) do
    init_ticks = math.max(init_ticks, t:get("ticks_at_init"))
  end
  local e = summary.errors
  io.write(string.format(
    'authbench-wrk {"durationUs":%d,"requests":%d,"bytes":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,' ..
    '"statusErrors":%d,"timeouts":%d,"latencyUs":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.3f},' ..
    '"cpuTicksAtInit":%d,"cpuTicksAtEnd":%d}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, init_ticks, cpu_ticks()))
end
