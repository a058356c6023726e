-- create_order.lua plus a fixed pause between a response and the connection's next request, for
-- the half-load latency phase of run_e2e_bench.sh: E2E_DELAY_MS (integer ms, wrk's resolution)
-- per connection. Kept apart because defining delay() at all changes how wrk schedules requests.
dofile((os.getenv("E2E_LUA_DIR") or "bench/e2e") .. "/create_order.lua")

local pause = tonumber(os.getenv("E2E_DELAY_MS") or "0")

function delay()
  return pause
end
