#pragma once
// The service's log output (spdlog's default logger, on stderr): human-readable text lines, or
// one JSON object per line for log collectors:
//
//   {"time":"2026-12-01T16:20:00.123Z","level":"warn","msg":"consumer ...: ... goes to the
//    dead-letter queue ...","messageId":"...","messageType":"PaymentCompletedEvent"}
//
// `time` (UTC, milliseconds), `level` (trace, debug, info, warn, error, critical) and `msg` are
// always there; orderId, messageId, messageType, correlationId, trace_id and span_id when the
// line was logged inside a ScopedLogFields that set them (common/log_fields.hpp). Strings are
// JSON-escaped (quotes, backslashes, control characters; invalid UTF-8 becomes U+FFFD), so every
// line parses whatever a message contains.

#include <spdlog/formatter.h>

#include <memory>
#include <string>

#include "common/result.hpp"

namespace orders {

/// The JSON line formatter, for spdlog sinks.
class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& out) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

/// Applies `format` ("text" or "json") and `level` ("trace".."error") to the default logger.
/// kInvalidArgument naming the value otherwise.
Status configureLogging(const std::string& format, const std::string& level);

}  // namespace orders
