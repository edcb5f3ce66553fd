-- The load mix for wrk, driven by bench/load/load_bench.py (which writes the data file).
--
-- wrk runs one connection per thread here (-t N -c N), so each thread's requests and
-- responses alternate strictly: the response in response() answers the request just
-- made, and each thread owns one listing to edit (its writes never conflict with
-- another's). The data file's plan says how many of each kind in every 50 requests
-- (35 searches, 10 pitch pages, 4 ad-hoc matches, 1 write), in an order shuffled per thread.
--
-- LOAD_DATA: a Lua file returning {plan=..., search=..., pitch=..., match=..., writes=..., key=...}
-- LOAD_OUT: where done() writes wrk's totals; each thread writes LOAD_OUT.<thread> too

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } load_timespec;
int clock_gettime(int clock_id, load_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local now_spec = ffi.new("load_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_spec)
  return tonumber(now_spec.tv_sec) * 1000 + tonumber(now_spec.tv_nsec) / 1e6
end

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  data = dofile(os.getenv("LOAD_DATA"))
  math.randomseed(1000 + id * 7919)
  plan = {}
  for kind, count in pairs(data.plan) do
    for _ = 1, count do
      table.insert(plan, kind)
    end
  end
  table.sort(plan) -- pairs() has no order: sort, then shuffle with this thread's seed
  for i = #plan, 2, -1 do
    local j = math.random(i)
    plan[i], plan[j] = plan[j], plan[i]
  end
  position = math.random(#plan)
  own = data.writes[(id % #data.writes) + 1] -- {slug=..., etag=...}
  etag = own.etag
  edits = 0
  -- One line per request sent, "> kind t", and per answer, "kind status ms", in a file of this thread's own: wrk copies
  -- only simple tables between threads, and the file is flushed when wrk exits.
  record = assert(io.open(os.getenv("LOAD_OUT") .. "." .. id, "w"))
  record:setvbuf("full")
  last_kind = nil
  started_at = nil
end

local function pick(list)
  return list[math.random(#list)]
end

function request()
  position = position % #plan + 1
  local kind = plan[position]
  local method, path, headers, body = "GET", nil, {}, nil
  if kind == "search" then
    path = pick(data.search)
  elseif kind == "pitch" then
    path = pick(data.pitch)
  elseif kind == "match" then
    method, path, body = "POST", "/v1/match", pick(data.match)
    headers["Content-Type"] = "application/json"
  elseif etag == nil then
    -- A write whose ETag went stale (412): read the listing again first.
    kind = "reread"
    path = "/v1/listings/" .. own.slug
    headers["Authorization"] = "Bearer " .. data.key
  else
    edits = edits + 1
    method, path = "PATCH", "/v1/listings/" .. own.slug
    headers["Authorization"] = "Bearer " .. data.key
    headers["Content-Type"] = "application/json"
    headers["If-Match"] = etag
    body = string.format(
      '{"summary_en": "Load test edit %d by connection %d: a market hall with solar roofs and cold storage."}',
      edits,
      id
    )
  end
  last_kind = kind
  started_at = now_ms()
  -- Each request is written down too: one that gets no answer (a stuck server, a timed-out
  -- or reset connection) is then seen by the runner, which wrk's own counts can miss.
  record:write("> ", kind, " ", string.format("%.3f", started_at), "\n")
  return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
  local elapsed = now_ms() - started_at
  local kind = last_kind or "unknown"
  record:write(kind, " ", status, " ", string.format("%.3f", elapsed), "\n")
  if kind == "write" or kind == "reread" then
    local tag = headers["etag"] or headers["ETag"] or headers["Etag"]
    if status == 412 then
      etag = nil
    elseif tag ~= nil then
      etag = tag
    end
  end
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("LOAD_OUT"), "w"))
  out:write(string.format("duration_us %d\n", summary.duration))
  out:write(string.format("requests %d\n", summary.requests))
  for _, name in ipairs({ "connect", "read", "write", "status", "timeout" }) do
    out:write(string.format("socket_%s %d\n", name, summary.errors[name]))
  end
  for _, p in ipairs({ 50, 95, 99 }) do
    out:write(string.format("p%d_us %d\n", p, latency:percentile(p)))
  end
  out:write(string.format("max_us %d\n", latency.max))
  out:write(string.format("threads %d\n", #threads))
  out:write(string.format("end_ms %d\n", math.floor(now_ms())))
  out:close()
end
