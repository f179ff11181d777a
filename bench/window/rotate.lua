-- The load of bench/window (load.ts reads what done() prints): one connection per wrk thread,
-- each thread rotating its requests over its own list of sites (Host headers). With one
-- connection per thread, request() and response() strictly alternate, so every response,
-- every request left unanswered (wrk called request() again before a response came: its
-- connection broke), and every latency belongs to the site it was sent to.
--
-- Phases: load.ts writes the phase's name into the phase file (steady, pass, after); each
-- thread reads it every 20 ms and counts per phase and site. Latencies go into a histogram of
-- 2% wide buckets per phase (the percentiles are read from it), plus the exact maximum per site.
-- done() prints `refit-win count PHASE HOST FIELD N` and `refit-win hist PHASE BUCKET N` lines.
-- A 2xx slower than timeoutMs counts as `late`, not `ok` (a failure, as in test/support/wrk.ts;
-- wrk itself never gives up on a request). So sent = ok + late + non-2xx + unanswered.
-- Stop: once the stop file exists, each connection parks after its response ("refit-win
-- drained" per thread), and load.ts interrupts wrk with nothing in flight. A load whose bench
-- died (its PID is gone) ends wrk within a second: a killed run leaves no load behind.
-- Args: stopFile phaseFile pauseMs path timeoutMs benchPid hostsOfThread1 hostsOfThread2 ...
-- (hosts comma-separated)
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local now_ms = dofile(here .. "../../test/support/wrk-clock.lua")

local threads = {}
local LOG_STEP = math.log(1.02)

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local function split(s)
  local out = {}
  for part in string.gmatch(s, "[^,]+") do table.insert(out, part) end
  return out
end

local function read_phase()
  local f = io.open(phaseFile, "r")
  if not f then return phase end
  local p = f:read("*l")
  f:close()
  return p or phase
end

function init(args)
  stopFile, phaseFile = args[1], args[2]
  pause = tonumber(args[3])
  timeoutUs = tonumber(args[5]) * 1000
  benchAlive = "/proc/" .. args[6] .. "/stat"
  hosts = split(args[6 + id])
  reqs = {}
  for i, h in ipairs(hosts) do
    reqs[i] = wrk.format("GET", args[4], { Host = h })
  end
  -- wrk calls the first thread's request() once before the load, to check the request: not counted.
  checking = id == 1
  idx, pendingHost, pendingPhase, sentAt = 0, nil, nil, 0
  phase, nextPhaseCheck, nextBenchCheck = "steady", 0, 0
  -- Flat tables only (wrk copies nested ones between threads badly):
  -- counts["phase host field"] = n (field: sent, ok, unanswered, late, maxUs, status<code>); hist["phase bucket"] = n
  counts, hist = {}, {}
  stopping, parked = false, false
end

local function add(p, h, field, n)
  local k = p .. " " .. h .. " " .. field
  counts[k] = (counts[k] or 0) + n
end

function request()
  if checking then
    checking = false
    return reqs[1]
  end
  local t = now_ms()
  if t >= nextPhaseCheck then
    phase = read_phase()
    nextPhaseCheck = t + 20
  end
  if t >= nextBenchCheck then
    local f = io.open(benchAlive, "r")
    if not f then os.exit(3) end
    f:close()
    nextBenchCheck = t + 1000
  end
  if pendingHost then add(pendingPhase, pendingHost, "unanswered", 1) end
  idx = idx % #hosts + 1
  pendingHost, pendingPhase = hosts[idx], phase
  add(phase, pendingHost, "sent", 1)
  sentAt = t
  return reqs[idx]
end

function response(status, headers, body)
  if not pendingHost then return end
  local ms = now_ms() - sentAt
  local us = math.floor(ms * 1000)
  if status >= 200 and status < 300 then
    add(pendingPhase, pendingHost, us > timeoutUs and "late" or "ok", 1)
  else
    add(pendingPhase, pendingHost, "status" .. status, 1)
  end
  local maxKey = pendingPhase .. " " .. pendingHost .. " maxUs"
  if us > (counts[maxKey] or 0) then counts[maxKey] = us end
  local b = math.floor(math.log(math.max(us, 10)) / LOG_STEP)
  local hk = pendingPhase .. " " .. b
  hist[hk] = (hist[hk] or 0) + 1
  pendingHost, pendingPhase = nil, nil
end

function delay()
  if not stopping then
    local f = io.open(stopFile, "r")
    if not f then return pause end
    f:close()
    stopping = true
  end
  if not parked then
    parked = true
    io.write(string.format("refit-win drained %d\n", id))
    io.flush()
  end
  return 3600000
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("refit-win errors connect=%d read=%d write=%d timeout=%d\n", e.connect, e.read, e.write, e.timeout))
  for _, t in ipairs(threads) do
    -- A request still unanswered at the end (the stop waits for it, so only after a timeout).
    local ph, h = t:get("pendingPhase"), t:get("pendingHost")
    if h then io.write(string.format("refit-win count %s %s unanswered 1\n", ph, h)) end
    for k, n in pairs(t:get("counts")) do io.write(string.format("refit-win count %s %d\n", k, n)) end
    for k, n in pairs(t:get("hist")) do io.write(string.format("refit-win hist %s %d\n", k, n)) end
  end
end
