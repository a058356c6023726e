#pragma once
// Test helpers for the consumer runtime's tests (unit and rmq): a private schema directory with
// the real envelope plus a test message type, message builders; waitFor (support/wait_for.hpp).

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/ids.hpp"
#include "consumer/consumer_options.hpp"
#include "events/schema_registry.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_for.hpp"

namespace orders::testing {

inline void writeFile(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

inline std::string readFile(const std::filesystem::path& path) {
  std::stringstream s;
  s << std::ifstream(path).rdbuf();
  return s.str();
}

/// WidgetEvent 1.0 and 2.0 payload schemas: {widgetId: non-empty string, ...}; 2.0 also
/// requires "colour".
inline constexpr const char* kWidgetSchemaV1 = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["widgetId"],
  "properties": {"widgetId": {"type": "string", "minLength": 1}, "n": {"type": "integer"}}
})";
inline constexpr const char* kWidgetSchemaV2 = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["widgetId", "colour"],
  "properties": {"widgetId": {"type": "string", "minLength": 1}, "colour": {"type": "string"}}
})";

/// A schema directory: the real envelope (schemas/envelope) and test/WidgetEvent/{1.0,2.0}.json.
inline void writeTestSchemas(const std::filesystem::path& dir) {
  const std::filesystem::path real(ORDER_SERVICE_SCHEMA_DIR);
  writeFile(dir / "envelope" / "StandardMessage.v1.json",
            readFile(real / "envelope" / "StandardMessage.v1.json"));
  writeFile(dir / "test" / "WidgetEvent" / "1.0.json", kWidgetSchemaV1);
  writeFile(dir / "test" / "WidgetEvent" / "2.0.json", kWidgetSchemaV2);
}

/// writeTestSchemas(dir), loaded.
inline std::unique_ptr<SchemaRegistry> loadTestSchemas(const std::filesystem::path& dir) {
  writeTestSchemas(dir);
  return std::make_unique<SchemaRegistry>(SchemaRegistry::load(dir.string()).value());
}

/// Options of a consumer of WidgetEvent messages from `exchange` through `queue`.
inline ConsumerOptions widgetConsumer(const std::string& queue, const std::string& exchange) {
  ConsumerOptions options;
  options.subscription.queue = queue;
  options.subscription.exchange = exchange;
  options.subscription.routingKeys = {"WidgetEvent"};
  return options;
}

inline std::string newMessageId() {
  static RandomIdGenerator ids;
  return "msg-" + ids.uuid();
}

inline std::string newUuid() {
  static RandomIdGenerator ids;
  return ids.uuid();
}

/// A StandardMessage envelope.
inline nlohmann::json envelope(const std::string& type, const std::string& version,
                               nlohmann::json payload, const std::string& messageId,
                               const std::string& partitionKey = "p-1",
                               const std::string& source = "TestService") {
  return nlohmann::json{{"messageId", messageId},
                        {"messageType", type},
                        {"messageVersion", version},
                        {"timestamp", "2024-05-01T10:00:00.000Z"},
                        {"source", source},
                        {"correlationId", "corr-" + messageId},
                        {"partitionKey", partitionKey},
                        {"payload", std::move(payload)}};
}

inline nlohmann::json widget(const std::string& messageId, const std::string& widgetId = "w-1",
                             const std::string& version = "1.0") {
  return envelope("WidgetEvent", version, {{"widgetId", widgetId}}, messageId, widgetId);
}

}  // namespace orders::testing
