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

/// A span caused by `parent`'s work (e.g. one event a request writes): the same trace id, flags
/// and tracestate, `parent.spanId` as its parent and a new span id from `ids`. `parent` must be
/// a context (non-empty traceId).
TraceContext childSpan(const TraceContext& parent, IdGenerator& ids);

/// The trace context of the traced work running on this thread right now, or null. For log lines
/// only (a log formatter reads trace_id / span_id from it): code that needs a context to pass on
/// gets it as a parameter, never from here. Set by a ScopedTraceContext: the HTTP pipeline while
/// a request's middlewares and handler run on an I/O thread, the consumer runtime while a handler
/// runs. Work continued on another thread (e.g. after a store commit) sees null unless it opens a
/// scope of its own. A context with an empty traceId is no trace yet (the HTTP steps that run
/// before the context step); treat it as null.
const TraceContext* currentTraceContext() noexcept;

/// Makes `context` this thread's currentTraceContext() until destroyed, then restores the one
/// before (scopes nest). `context` must outlive the scope. Not movable: a scope is one thread's.
class ScopedTraceContext {
 public:
  explicit ScopedTraceContext(const TraceContext& context) noexcept;
  ~ScopedTraceContext();
  ScopedTraceContext(const ScopedTraceContext&) = delete;
  ScopedTraceContext& operator=(const ScopedTraceContext&) = delete;

 private:
  const TraceContext* previous_;
};

}  // namespace orders
