#pragma once
// W3C Trace Context (https://www.w3.org/TR/trace-context/): the trace a request or a message
// belongs to, carried in `traceparent` / `tracestate`. A request that brings a valid traceparent
// continues its trace; any other request starts a new one. Each hop gets a span id of its own.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/ids.hpp"

namespace orders {

struct TraceContext {
  std::string traceId;       // 32 lower-case hex digits, not all zero
  std::string spanId;        // 16 lower-case hex digits: this hop's span
  std::string parentSpanId;  // the caller's span; empty when this hop started the trace
  std::uint8_t flags = 0;    // trace-flags; bit 0 = sampled
  std::string traceState;    // carried unchanged (at most 512 bytes), may be empty

  /// "00-<traceId>-<spanId>-<flags>": the traceparent of this hop, for what it causes.
  std::string traceparent() const;
};

/// The fields of a traceparent value, or nullopt when it is not one (wrong length or case,
/// all-zero ids, version ff, a version-00 value with trailing data). Future versions are read by
/// their first four fields, as the specification asks.
struct TraceParent {
  std::string traceId;
  std::string parentId;
  std::uint8_t flags = 0;
};
std::optional<TraceParent> parseTraceparent(std::string_view value);

/// The context of a new hop: a child of `traceparent` when it is valid (tracestate is kept only
/// then), else the root of a new trace. Span and trace ids come from `ids`.
TraceContext continueTrace(std::optional<std::string_view> traceparent,
                           std::optional<std::string_view> tracestate, IdGenerator& ids);

}  // namespace orders
