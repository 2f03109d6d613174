-- wrk script for bench/run: POSTs a GraphQL request and counts failed responses.
-- Environment:
--   TOKEN      bearer token (optional)
--   BODY_FILE  a JSON request body sent as is, or
--   IDS_FILE   one opportunity id per line: each request is `updateOpportunity` on the
--              next id, every thread walking its own share, so concurrent requests touch
--              distinct opportunities
--   WRK_THREADS the -t given to wrk (for IDS_FILE)
--   EXPECT     a string every good response body contains (optional)
-- A response fails when its status is not 200, its body has top-level "errors", or it
-- lacks EXPECT. done() prints one line `RESULT {json}` for bench/run to read.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local token = os.getenv("TOKEN")
local expect = os.getenv("EXPECT")
if expect == "" then expect = nil end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local body_file = os.getenv("BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "r"))
  wrk.body = f:read("*a")
  f:close()
end

local ids = {}
local ids_file = os.getenv("IDS_FILE")
if ids_file and ids_file ~= "" then
  for line in io.lines(ids_file) do
    if line ~= "" then table.insert(ids, line) end
  end
end

local mutation = 'mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) '
  .. '{ opportunity { id version } userErrors { code message } } }'

function init(args)
  failed = 0
  n = 0
  -- setup() ran in the main Lua state: the thread count comes from bench/run.
  nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
end

function request()
  if #ids == 0 then
    return wrk.format()
  end
  -- Thread t takes ids t, t + T, t + 2T, ...: no two threads share one.
  local total = #ids
  local per = math.floor(total / nthreads)
  local id = ids[tid + (n % per) * nthreads + 1]
  n = n + 1
  local body = string.format(
    '{"query":"%s","variables":{"i":{"opportunityId":"%s","notes":"bench update %d of thread %d"}}}',
    mutation, id, n, tid)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  local bad = status ~= 200
    or string.find(body, '"errors"', 1, true) ~= nil
    or (expect ~= nil and string.find(body, expect, 1, true) == nil)
  if bad then
    failed = failed + 1
    if failed <= 2 then
      io.stderr:write("bad response (" .. status .. "): " .. string.sub(body, 1, 300) .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local failed_total = 0
  for _, t in ipairs(threads) do
    failed_total = failed_total + t:get("failed")
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,'
      .. '"p99_ms":%.3f,"max_ms":%.3f,"failed":%d,"socket_errors":%d,"non_2xx":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, failed_total,
    e.connect + e.read + e.write + e.timeout, e.status))
end
