-- wrk script of the serving benchmark: POSTs prepared bodies and prints one JSON line of results.
--
--   BODIES=records.jsonl CONTENT_TYPE=application/json wrk -t2 -c8 -d10s -s post.lua http://127.0.0.1:PORT/path
--
-- BODIES: a file with one request body per line (JSON records; each connection cycles through them, so the
-- server sees different records rather than one cached answer), or with BODY_MODE=whole the whole file is one
-- body (the CSV batch). CONTENT_TYPE: the request's Content-Type. All requests are formatted once, in init,
-- so wrk's Lua does no work per request beyond picking the next one.

local requests = {}
local n = 0
local i = 0
local threads = 0

-- Runs in the main Lua state, once per thread: gives each thread a number, so they start at different records.
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  local path = os.getenv("BODIES")
  local mode = os.getenv("BODY_MODE") or "lines"
  local headers = { ["Content-Type"] = os.getenv("CONTENT_TYPE") or "application/json" }
  local f = assert(io.open(path, "rb"))
  if mode == "whole" then
    requests[1] = wrk.format("POST", nil, headers, f:read("*a"))
  else
    for line in f:lines() do
      if #line > 0 then
        requests[#requests + 1] = wrk.format("POST", nil, headers, line)
      end
    end
  end
  f:close()
  n = #requests
  i = ((id or 0) * 97) % n
end

function request()
  i = i % n + 1
  return requests[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d}, "latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
