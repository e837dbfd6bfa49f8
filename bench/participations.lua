-- wrk script of bench/run.sh: POST /v1/campaigns/{id}/participations with form body qual_token=<token>, each
-- request taking the next pre-minted token of its thread, and per-status counts written as JSON when wrk ends.
--
-- Environment:
--   BENCH_TOKENS   file with one token per line; thread i of n takes lines i, i+n, i+2n, ... (no token is shared)
--   BENCH_PATH     request path, e.g. /v1/campaigns/new-hs256-c32-a1/participations
--   BENCH_THREADS  the -t given to wrk
--   BENCH_MODE     once  (default): each line once; when a thread runs out it sends harmless GET /health/live
--                                   requests, counted as "exhausted" (the run is then invalid: mint more)
--                  cycle: start over at the end (replay storm: the same few tokens again and again)
--   BENCH_ADDRS    optional "host:port,host:port,...": thread i connects to address i mod count (several API
--                  processes behind one wrk; the Host header stays the URL's)
--   BENCH_RESULT   where done() writes its JSON summary

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  local addrs = os.getenv("BENCH_ADDRS")
  if addrs and addrs ~= "" then
    local list = {}
    for a in string.gmatch(addrs, "[^,]+") do list[#list + 1] = a end
    local host, port = string.match(list[(next_id % #list) + 1], "^(.+):(%d+)$")
    thread.addr = wrk.lookup(host, port)[1]
  end
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Per thread (each thread has its own Lua state): these globals are read back by done() through thread:get.
statuses = {}
sent = 0
answered = 0
exhausted = 0

local requests = {}
local count = 0
local position = 0
local mode = "once"
local health

function init(args)
  local threads_total = tonumber(os.getenv("BENCH_THREADS") or "1")
  local path = os.getenv("BENCH_PATH")
  mode = os.getenv("BENCH_MODE") or "once"
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  local line_number = 0
  for token in io.lines(os.getenv("BENCH_TOKENS")) do
    if token ~= "" then
      if line_number % threads_total == id then
        count = count + 1
        -- Built once here, outside the measured window.
        requests[count] = wrk.format("POST", path, headers, "qual_token=" .. token)
      end
      line_number = line_number + 1
    end
  end
  health = wrk.format("GET", "/health/live", {}, nil)
end

function request()
  if position >= count then
    if mode == "cycle" and count > 0 then
      position = 0
    else
      exhausted = exhausted + 1
      return health
    end
  end
  position = position + 1
  sent = sent + 1
  return requests[position]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  -- 200 is only ever the health check sent once the tokens ran out: not an answer to a participation.
  if status ~= 200 then answered = answered + 1 end
end

function done(summary, latency, requests)
  local total = { sent = 0, answered = 0, exhausted = 0, statuses = {} }
  for _, thread in ipairs(threads) do
    total.sent = total.sent + thread:get("sent")
    total.answered = total.answered + thread:get("answered")
    total.exhausted = total.exhausted + thread:get("exhausted")
    for status, n in pairs(thread:get("statuses")) do
      total.statuses[status] = (total.statuses[status] or 0) + n
    end
  end

  local parts = {}
  for status, n in pairs(total.statuses) do
    parts[#parts + 1] = string.format('"%d":%d', status, n)
  end

  local e = summary.errors
  local json = string.format(
    '{"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.1f,"stdev":%.1f},' ..
    '"sent":%d,"answered":%d,"exhausted":%d,"statuses":{%s}}',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean, latency.stdev,
    total.sent, total.answered, total.exhausted, table.concat(parts, ","))

  local out = os.getenv("BENCH_RESULT")
  if out and out ~= "" then
    local file = assert(io.open(out, "w"))
    file:write(json, "\n")
    file:close()
  else
    io.write(json, "\n")
  end
end
