-- wrk script for the e2e bench (bench/e2e/run_e2e_bench.sh), used unchanged against the Order
-- Service and the Node.js peer: POST /v1/orders with a realistic body of 1-3 items and a fresh
-- random userId per request (as ../shared/peer-node/wrk/create-order.lua does), so neither side
-- sees one repeated body.
--
-- No response() callback on purpose: with one, wrk hands every response to Lua, and the load
-- generator shares the 2 cores with the system under test. wrk counts statuses >= 400 in
-- errors.status (reported as non2xx).
--
-- done() prints one machine-readable line the bench parses:
--   SUMMARY requests=N duration_s=S rps=R p50_ms= p90_ms= p99_ms= max_ms= non2xx= connect_err=
--           read_err= write_err= timeouts=

local counter = 0

function setup(thread)
  -- runs in wrk's main Lua state, once per thread: give each thread its own random seed
  counter = counter + 1
  thread:set("tid", counter)
end

function init(args)
  -- tid is set by setup() in this thread's Lua state; os.clock() separates runs in one second
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919 + math.floor(os.clock() * 1e6))
  for _ = 1, 10 do math.random() end -- the first values after seeding are poorly mixed
end

local products = {
  { "prod-456", 99.99 }, { "prod-789", 50.00 }, { "prod-1001", 12.50 }, { "prod-2002", 7.25 },
  { "prod-3003", 249.00 }, { "prod-4004", 19.99 }, { "prod-5005", 3.49 }, { "prod-6006", 120.00 },
  { "sku-77-blue-m", 24.90 }, { "sku-88-red-l", 31.00 },
}
local names = { "John Doe", "Jane Roe", "Ana Müller", "Li Wei", "Olu Ade", "Sam Smith", "Zoë Dupont" }
local addresses = {
  { "Main St", "Anytown", "12345", "US" }, { "Hauptstraße", "Berlin", "10115", "DE" },
  { "Rue de la République", "Lyon", "69001", "FR" }, { "King St W", "Toronto", "M5H 2N2", "CA" },
  { "Baker Street", "London", "NW1 6XE", "GB" },
}

local r = math.random
-- A version-4 UUID, built from 16-bit pieces (exact in LuaJIT's doubles).
local function uuid4()
  return string.format("%04x%04x-%04x-4%03x-%x%03x-%04x%04x%04x",
    r(0, 0xffff), r(0, 0xffff), r(0, 0xffff), r(0, 0xfff), r(8, 11), r(0, 0xfff),
    r(0, 0xffff), r(0, 0xffff), r(0, 0xffff))
end

local headers = { ["Content-Type"] = "application/json" }

function request()
  local n = r(1, 3)
  local items = {}
  for i = 1, n do
    local p = products[r(1, #products)]
    items[i] = string.format('{"productId":"%s","quantity":%d,"unitPrice":%.2f}', p[1], r(1, 3), p[2])
  end
  local a = addresses[r(1, #addresses)]
  local body = string.format(
    '{"userId":"%s","currency":"USD","customerDetails":{"name":"%s","email":"user%d@example.com"},' ..
    '"shippingAddress":{"street":"%d %s","city":"%s","postalCode":"%s","country":"%s"},"items":[%s]}',
    uuid4(), names[r(1, #names)], r(1, 1000000), r(1, 999), a[1], a[2], a[3], a[4],
    table.concat(items, ","))
  return wrk.format("POST", "/v1/orders", headers, body)
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "SUMMARY requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
    "non2xx=%d connect_err=%d read_err=%d write_err=%d timeouts=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect, e.read, e.write, e.timeout))
end
