-- create_order.lua plus a latency dump, for bench/e2e/run_scale_out_bench.sh, where several wrk
-- processes (one per service instance) share one load level and their latencies must be merged:
-- done() also writes E2E_QUANTILES_FILE with "requests N" and then 1,000 lines "q ms", the
-- latency at q = 0.001, 0.002, ..., 1.000 (wrk's percentile()). Each line stands for N / 1,000
-- requests; bench/e2e/merge_latencies.py pools the lines of all processes by those weights.
dofile((os.getenv("E2E_LUA_DIR") or "bench/e2e") .. "/create_order.lua")

local print_summary = done
local dump = os.getenv("E2E_QUANTILES_FILE")

function done(summary, latency, requests)
  print_summary(summary, latency, requests)
  if not dump then return end
  local f = assert(io.open(dump, "w"))
  f:write(string.format("requests %d\n", summary.requests))
  for k = 1, 1000 do
    f:write(string.format("%.3f %.3f\n", k / 1000, latency:percentile(k / 10) / 1000))
  end
  f:close()
end
