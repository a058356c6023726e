#include "observability/logging.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/log_fields.hpp"

namespace orders {
namespace {

void appendString(spdlog::memory_buf_t& out, std::string_view text) {
  // nlohmann's serializer does the escaping (RFC 8259) and replaces invalid UTF-8.
  const std::string quoted = nlohmann::json(std::string(text))
                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out.append(quoted.data(), quoted.data() + quoted.size());
}

void appendField(spdlog::memory_buf_t& out, std::string_view name, std::string_view value) {
  if (value.empty()) return;
  out.push_back(',');
  appendString(out, name);
  out.push_back(':');
  appendString(out, value);
}

void appendLiteral(spdlog::memory_buf_t& out, std::string_view text) {
  out.append(text.data(), text.data() + text.size());
}

// The names of --log-level (spdlog's own say "warning").
std::string_view levelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

}  // namespace

void JsonLogFormatter::format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& out) {
  using namespace std::chrono;
  const auto since = message.time.time_since_epoch();
  const std::time_t seconds = duration_cast<std::chrono::seconds>(since).count();
  const auto millis = duration_cast<milliseconds>(since).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char time[40];
  const std::size_t length = std::strftime(time, sizeof time, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(time + length, sizeof time - length, ".%03dZ", static_cast<int>(millis));

  appendLiteral(out, "{\"time\":\"");
  appendLiteral(out, time);
  appendLiteral(out, "\",\"level\":\"");
  appendLiteral(out, levelName(message.level));
  appendLiteral(out, "\",\"msg\":");
  appendString(out, std::string_view(message.payload.data(), message.payload.size()));
  const LogFields& fields = currentLogFields();
  appendField(out, "orderId", fields.orderId);
  appendField(out, "messageId", fields.messageId);
  appendField(out, "messageType", fields.messageType);
  appendField(out, "correlationId", fields.correlationId);
  appendField(out, "trace_id", fields.traceId);
  appendField(out, "span_id", fields.spanId);
  appendLiteral(out, "}\n");
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

Status configureLogging(const std::string& format, const std::string& level) {
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    return invalid("--log-level",
                   "must be trace, debug, info, warn or error (got '" + level + "')");
  }
  if (format == "json") {
    spdlog::set_formatter(std::make_unique<JsonLogFormatter>());
  } else if (format != "text") {
    return invalid("--log-format", "must be text or json (got '" + format + "')");
  }
  spdlog::set_level(parsed);
  return okStatus();
}

}  // namespace orders
