-- wrk script: POST /v1/orders with a realistic two-item order (the seed's example).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{"userId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","currency":"USD","items":[{"productId":"prod-456","quantity":1,"unitPrice":99.99},{"productId":"prod-789","quantity":1,"unitPrice":50.00}],"customerDetails":{"name":"John Doe","email":"john.doe@example.com"},"shippingAddress":{"street":"123 Main St","city":"Anytown","postalCode":"12345","country":"US"}}]]

-- No response() callback: with one, wrk hands every response to Lua, and the load generator
-- shares the 2 cores with the service. wrk counts any status >= 400 in errors.status.

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
