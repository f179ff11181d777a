-- The wrk script of test/support/wrk.ts (read its header for what each count means).
-- Every thread counts the requests it generates (request()), the responses it gets by status
-- and by first body line, and the wall-clock milliseconds in which a 2xx arrived; done() merges
-- the threads, so the longest stretch without any 2xx is exact across threads (1 ms steps).
-- A thread prints "refit-wrk running" once it has generated as many requests as it has
-- connections (the load is on). Stop: wrk.ts creates the stop file (its content: when, ms since the epoch). From then on a
-- connection whose response completes sends nothing more (delay() parks it), and a thread whose
-- connections are all parked prints "refit-wrk drained"; wrk.ts then interrupts wrk, with no
-- request in flight.
-- Args: stopFile connectionsPerThread pauseMs getPath postEvery postPath postBytes
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local now_ms = dofile(here .. "wrk-clock.lua")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local function with_headers(extra)
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  for k, v in pairs(extra) do h[k] = v end
  return h
end

-- Per thread, as globals so that done() can read them with thread:get().
function init(args)
  stopFile = args[1]
  conns = tonumber(args[2])
  pause = tonumber(args[3])
  postEvery = tonumber(args[5])
  getReq = wrk.format("GET", args[4], with_headers({}))
  if postEvery > 0 then
    postReq = wrk.format("POST", args[6], with_headers({ ["Content-Type"] = "application/octet-stream" }), string.rep("x", tonumber(args[7])))
  end
  started = now_ms()
  -- wrk calls the first thread's request() once before the load, to check the request.
  sent = id == 1 and -1 or 0
  responses, ok = 0, 0
  statuses, lines, okMs = {}, {}, {}
  stopping, nextCheck, parked = false, 0, 0
end

function request()
  sent = sent + 1
  if sent == conns then
    io.write(string.format("refit-wrk running %d\n", id))
    io.flush()
  end
  if postReq and sent > 0 and sent % postEvery == 0 then return postReq end
  return getReq
end

function response(status, headers, body)
  responses = responses + 1
  if status >= 200 and status < 300 then
    ok = ok + 1
    okMs[math.floor(now_ms())] = true
    local line = string.sub(string.match(body or "", "^[^\r\n]*"), 1, 120)
    lines[line] = (lines[line] or 0) + 1
  else
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

-- Called before each request of a connection (the first one too).
function delay()
  if not stopping then
    local t = now_ms()
    if t < nextCheck then return pause end
    nextCheck = t + 10
    local f = io.open(stopFile, "r")
    if not f then return pause end
    f:close()
    stopping = true
  end
  parked = parked + 1
  if parked == conns then
    io.write(string.format("refit-wrk drained %d\n", id))
    io.flush()
  end
  return 3600000
end

local function stop_time(file)
  local f = io.open(file, "r")
  if not f then return now_ms() end
  local t = tonumber(f:read("*l"))
  f:close()
  return t or now_ms()
end

function done(summary, latency, requests)
  local e = summary.errors
  local stoppedAt = stop_time(threads[1]:get("stopFile"))
  local startedAt, sentAll, responsesAll, okAll, drained = math.huge, 0, 0, 0, 0
  local statusAll, lineAll, okSet = {}, {}, {}
  for _, t in ipairs(threads) do
    startedAt = math.min(startedAt, t:get("started"))
    sentAll = sentAll + t:get("sent")
    responsesAll = responsesAll + t:get("responses")
    okAll = okAll + t:get("ok")
    if t:get("parked") >= t:get("conns") then drained = drained + 1 end
    for k, n in pairs(t:get("statuses")) do statusAll[k] = (statusAll[k] or 0) + n end
    for k, n in pairs(t:get("lines")) do lineAll[k] = (lineAll[k] or 0) + n end
    for ms in pairs(t:get("okMs")) do okSet[ms] = true end
  end
  local okTimes = {}
  for ms in pairs(okSet) do table.insert(okTimes, ms) end
  table.sort(okTimes)
  -- The longest stretch without a 2xx, from the load's start to the stop (both ends count).
  local gap, gapFrom, prev = 0, startedAt, startedAt
  for _, ms in ipairs(okTimes) do
    if ms - prev > gap then gap, gapFrom = ms - prev, prev end
    prev = ms
  end
  if stoppedAt - prev > gap then gap, gapFrom = stoppedAt - prev, prev end

  io.write(string.format("refit-wrk counts threads=%d sent=%d responses=%d ok=%d drainedThreads=%d\n", #threads, sentAll, responsesAll, okAll, drained))
  io.write(string.format("refit-wrk errors connect=%d read=%d write=%d timeout=%d\n", e.connect, e.read, e.write, e.timeout))
  io.write(string.format("refit-wrk latency-us p50=%d p99=%d max=%d\n", latency:percentile(50), latency:percentile(99), latency.max))
  io.write(string.format("refit-wrk times started=%.3f stopped=%.3f gap=%.3f gapFrom=%.3f\n", startedAt, stoppedAt, math.max(gap, 0), gapFrom))
  for k, n in pairs(statusAll) do io.write(string.format("refit-wrk status %s %d\n", k, n)) end
  for k, n in pairs(lineAll) do io.write(string.format("refit-wrk line %d %s\n", n, k)) end
end
