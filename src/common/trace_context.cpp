#include "common/trace_context.hpp"

namespace orders {
namespace {

constexpr std::size_t kMaxTraceState = 512;

bool isLowerHex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool allZero(std::string_view text) {
  return text.find_first_not_of('0') == std::string_view::npos;
}

int hexValue(char c) {
  return c <= '9' ? c - '0' : c - 'a' + 10;
}

}  // namespace

std::string TraceContext::traceparent() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string value = "00-" + traceId + "-" + spanId + "-";
  value.push_back(kHex[flags >> 4]);
  value.push_back(kHex[flags & 0x0f]);
  return value;
}

std::optional<TraceParent> parseTraceparent(std::string_view value) {
  // version "-" trace-id "-" parent-id "-" trace-flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55
  if (value.size() < 55 || value[2] != '-' || value[35] != '-' || value[52] != '-') {
    return std::nullopt;
  }
  const auto version = value.substr(0, 2);
  if (!isLowerHex(version) || version == "ff") return std::nullopt;
  if (version == "00" ? value.size() != 55 : (value.size() > 55 && value[55] != '-')) {
    return std::nullopt;
  }
  TraceParent parsed{std::string(value.substr(3, 32)), std::string(value.substr(36, 16)), 0};
  const auto flags = value.substr(53, 2);
  if (!isLowerHex(parsed.traceId) || allZero(parsed.traceId) || !isLowerHex(parsed.parentId) ||
      allZero(parsed.parentId) || !isLowerHex(flags)) {
    return std::nullopt;
  }
  parsed.flags = static_cast<std::uint8_t>(hexValue(flags[0]) * 16 + hexValue(flags[1]));
  return parsed;
}

TraceContext continueTrace(std::optional<std::string_view> traceparent,
                           std::optional<std::string_view> tracestate, IdGenerator& ids) {
  TraceContext context;
  context.spanId = ids.randomHex(16);
  if (auto parent = traceparent ? parseTraceparent(*traceparent) : std::nullopt) {
    context.traceId = std::move(parent->traceId);
    context.parentSpanId = std::move(parent->parentId);
    context.flags = parent->flags;
    if (tracestate && tracestate->size() <= kMaxTraceState) context.traceState = *tracestate;
    return context;
  }
  context.traceId = ids.randomHex(32);
  return context;
}

TraceContext childSpan(const TraceContext& parent, IdGenerator& ids) {
  TraceContext child;
  child.traceId = parent.traceId;
  child.spanId = ids.randomHex(16);
  child.parentSpanId = parent.spanId;
  child.flags = parent.flags;
  child.traceState = parent.traceState;
  return child;
}

namespace {
thread_local const TraceContext* tCurrentTrace = nullptr;
}  // namespace

const TraceContext* currentTraceContext() noexcept {
  return tCurrentTrace;
}

ScopedTraceContext::ScopedTraceContext(const TraceContext& context) noexcept
    : previous_(tCurrentTrace) {
  tCurrentTrace = &context;
}

ScopedTraceContext::~ScopedTraceContext() {
  tCurrentTrace = previous_;
}

}  // namespace orders
