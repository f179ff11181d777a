-- wrk script for the zero-downtime bench: one wrk process per site, one thread (-t1), so
-- every response of the site passes through this Lua state in order. It counts responses by
-- status and finds the longest stretch between two successful (2xx) responses, with
-- wall-clock timestamps (LuaJIT ffi) that run.ts lines up with the maintenance pass.
-- Socket errors (connect, read, write, timeout) are wrk's own counters, printed by done().
-- Env: WRK_DELAY_MS (pause per connection between requests; keeps the load constant and
-- leaves CPU for the pass on a small host).
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_usec; } refit_timeval;
int gettimeofday(refit_timeval *tv, void *tz);
]]
local tv = ffi.new("refit_timeval")
local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end

local pause = tonumber(os.getenv("WRK_DELAY_MS") or "0")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  started = now_ms()
  ok = 0
  statuses = {}
  firstOk = -1
  lastOk = -1
  maxGap = 0
  maxGapFrom = -1
end

if pause > 0 then
  function delay()
    return pause
  end
end

function response(status, headers, body)
  local t = now_ms()
  if status >= 200 and status < 300 then
    ok = ok + 1
    if lastOk < 0 then
      firstOk = t
    elseif t - lastOk > maxGap then
      maxGap = t - lastOk
      maxGapFrom = lastOk
    end
    lastOk = t
  else
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local t = threads[1]
  io.write(string.format("refit-wrk requests %d\n", summary.requests))
  io.write(string.format("refit-wrk errors connect=%d read=%d write=%d timeout=%d status=%d\n", e.connect, e.read, e.write, e.timeout, e.status))
  io.write(string.format("refit-wrk latency-us p50=%d p99=%d max=%d\n", latency:percentile(50), latency:percentile(99), latency.max))
  io.write(string.format("refit-wrk ok %d\n", t:get("ok")))
  io.write(string.format("refit-wrk times started=%.3f firstOk=%.3f lastOk=%.3f maxGap=%.3f maxGapFrom=%.3f\n",
    t:get("started"), t:get("firstOk"), t:get("lastOk"), t:get("maxGap"), t:get("maxGapFrom")))
  for status, n in pairs(t:get("statuses")) do
    io.write(string.format("refit-wrk status %s %d\n", status, n))
  end
end
