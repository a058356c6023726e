#include "asyncapi_document.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "events/routing_key.hpp"
#include "events/schema_catalog.hpp"
#include "inbound/inbound_handlers.hpp"

namespace orders::tools {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;  // keys in the order they are written, for a stable file

constexpr const char* kAmqpBindingVersion = "0.3.0";
constexpr const char* kDraft07Format = "application/schema+json;version=draft-07";

// ---- YAML ----------------------------------------------------------------------------------
// A small block-style writer for the JSON the generator builds: enough for AsyncAPI and
// deterministic. Strings are plain only when no YAML parser could read them as anything else.

bool isReserved(const std::string& s) {
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const std::set<std::string> words{"true", "false", "null", "yes", "no",
                                           "on",   "off",   "y",    "n",   "~"};
  return words.count(lower) != 0;
}

bool isPlain(const std::string& s) {
  if (s.empty() || isReserved(s) || s.back() == ' ') return false;
  const unsigned char first = static_cast<unsigned char>(s.front());
  const bool relativePath = s.size() > 1 && s[0] == '.' && (s[1] == '.' || s[1] == '/');
  if (!(std::isalpha(first) || s.front() == '_' || s.front() == '$' || s.front() == '/' ||
        relativePath)) {
    return false;  // digits could read as numbers, most punctuation is a YAML indicator
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    const unsigned char u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == ' ' || c == '_' || c == '.' || c == '/' || c == '-' ||
           c == '(' || c == ')' || c == '$' || c == ',' || c == ';' || c == '=' || c == '+';
  });
}

std::string quoted(const std::string& s) {
  const bool printable = std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  });
  if (!printable) return Json(s).dump();  // a JSON string is a YAML double-quoted scalar
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string scalar(const Json& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    return isPlain(s) ? s : quoted(s);
  }
  return v.dump();
}

/// A string that reads best as a literal block: several lines, none starting with a space.
bool isBlock(const std::string& s) {
  if (s.find('\n') == std::string::npos) return false;
  std::size_t start = 0;
  while (start < s.size()) {
    const auto end = s.find('\n', start);
    const std::string line = s.substr(start, end - start);
    if ((!line.empty() && line.front() == ' ') || (!line.empty() && line.back() == ' ') ||
        !std::all_of(line.begin(), line.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x20; })) {
      return false;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return true;
}

void writeBlock(const std::string& s, int indent, std::string& out) {
  const bool trailingNewline = s.back() == '\n';
  out += trailingNewline ? "|\n" : "|-\n";
  std::size_t start = 0;
  const std::string body = trailingNewline ? s.substr(0, s.size() - 1) : s;
  while (start <= body.size()) {
    const auto end = body.find('\n', start);
    const std::string line = body.substr(start, end - start);
    out += line.empty() ? "\n" : std::string(indent, ' ') + line + "\n";
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

void writeValue(const Json& v, int indent, std::string& out);

void writeEntry(const std::string& prefix, const Json& v, int indent, std::string& out) {
  if ((v.is_object() || v.is_array()) && !v.empty()) {
    out += prefix + "\n";
    writeValue(v, indent + 2, out);
  } else if (v.is_object()) {
    out += prefix + " {}\n";
  } else if (v.is_array()) {
    out += prefix + " []\n";
  } else if (v.is_string() && isBlock(v.get_ref<const std::string&>())) {
    out += prefix + " ";
    writeBlock(v.get_ref<const std::string&>(), indent + 2, out);
  } else {
    out += prefix + " " + scalar(v) + "\n";
  }
}

void writeValue(const Json& v, int indent, std::string& out) {
  const std::string pad(indent, ' ');
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      writeEntry(pad + scalar(Json(key)) + ":", value, indent, out);
    }
    return;
  }
  for (const auto& item : v) {
    if (item.is_object() && !item.empty()) {
      // "- " then the mapping's first key on the same line, the others aligned under it.
      std::string nested;
      writeValue(item, indent + 2, nested);
      out += pad + "- " + nested.substr(static_cast<std::size_t>(indent) + 2);
    } else if (item.is_array() && !item.empty()) {
      out += pad + "-\n";
      writeValue(item, indent + 2, out);
    } else {
      writeEntry(pad + "-", item, indent, out);
    }
  }
}

// ---- the document --------------------------------------------------------------------------

struct MessageVersion {
  int major = 0;
  int minor = 0;
  std::string file;  // newest minor of that major, relative to the schema directory
  std::string version;
  std::string description;
};

Json refTo(const std::string& target) {
  return Json{{"$ref", target}};
}

std::string escapeRefToken(const std::string& token) {
  std::string out;
  for (char c : token) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

std::string readDescription(const std::string& path) {
  std::ifstream in(path);
  const Json schema = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (schema.is_object() && schema.contains("description") && schema["description"].is_string())
    return schema["description"].get<std::string>();
  return "";
}

Json headersSchema() {
  Json properties = Json::object();
  properties["messageVersion"] = {
      {"type", "string"},
      {"pattern", "^[0-9]+\\.[0-9]+$"},
      {"description",
       "The envelope's messageVersion: <major>.<minor> of the payload schema. A consumer "
       "that knows major N accepts any N.x and ignores fields it does not know."}};
  properties["partitionKey"] = {
      {"type", "string"},
      {"minLength", 1},
      {"description", "The envelope's partitionKey, the orderId: order holds per partitionKey."}};
  properties["sequence"] = {
      {"type", "integer"},
      {"minimum", 1},
      {"description",
       "1, 2, 3... per order, in commit order (AMQP long-long), one number per domain event: "
       "the versions of one event published side by side (1.0 and 2.0) carry the same number, so "
       "a consumer of either major sees no gap. A consumer that needs order keeps the last "
       "sequence it applied per partitionKey."}};
  properties["traceparent"] = {
      {"type", "string"},
      {"pattern", "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"},
      {"description",
       "W3C Trace Context: the event's own span (a child of the span of the request or consumed "
       "message that caused it; that work's traceparent is continued, or a new trace started). "
       "Set on every event written since schema version 4 of the store; events written before "
       "have none, so a consumer treats it as optional and starts a new trace without it (or "
       "with a malformed one). Continue it as the parent of your processing span."}};
  properties["tracestate"] = {
      {"type", "string"},
      {"maxLength", 512},
      {"description",
       "Optional, W3C Trace Context vendor data, carried unchanged from the request or message "
       "that caused the event; only next to traceparent."}};
  return Json{{"type", "object"},
              {"description",
               "The AMQP headers of every event the Order Service publishes. The AMQP "
               "properties are set too: message_id = messageId, type = messageType, app_id = "
               "source, correlation_id = correlationId, content_type application/json, "
               "timestamp, delivery_mode 2."},
              {"required", Json::array({"messageVersion", "partitionKey", "sequence"})},
              {"properties", properties}};
}

/// The AMQP body: a StandardMessage envelope whose payload is the message type's schema.
Json payloadOf(const std::string& type, const MessageVersion& version,
               const std::string& envelopeFile, const std::string& prefix) {
  Json specific = Json::object();
  specific["type"] = "object";
  specific["properties"] = {
      {"messageType", {{"const", type}}},
      {"messageVersion",
       {{"type", "string"}, {"pattern", "^" + std::to_string(version.major) + "\\.[0-9]+$"}}},
      {"payload", refTo(prefix + version.file)}};
  return Json{{"schemaFormat", kDraft07Format},
              {"schema", {{"allOf", Json::array({refTo(prefix + envelopeFile), specific})}}}};
}

std::string messageId(const std::string& type, int major) {
  return type + "_v" + std::to_string(major);
}

}  // namespace

AsyncApiInputs defaultAsyncApiInputs(std::string schemaDirectory, TopologyConfig topology) {
  AsyncApiInputs inputs;
  inputs.schemaDirectory = std::move(schemaDirectory);
  inputs.topology = std::move(topology);
  inputs.publishedTypes = knownMessageTypes();
  inputs.inbound = {
      {inbound::kPaymentExchange, inbound::kPaymentQueue, inbound::kPaymentService,
       inbound::paymentMessageTypes()},
      {inbound::kFulfillmentExchange, inbound::kFulfillmentQueue, inbound::kFulfillmentService,
       inbound::fulfillmentMessageTypes()},
  };
  return inputs;
}

Result<std::string> renderAsyncApi(const AsyncApiInputs& inputs) {
  auto files = listSchemaFiles(inputs.schemaDirectory);
  if (!files) return std::move(files).takeError();

  std::set<std::string> known(inputs.publishedTypes.begin(), inputs.publishedTypes.end());
  for (const auto& channel : inputs.inbound)
    known.insert(channel.messageTypes.begin(), channel.messageTypes.end());
  std::string envelopeFile;
  int envelopeMajor = 0;
  // type -> major -> the newest minor's file
  std::map<std::string, std::map<int, MessageVersion>> versions;
  for (const auto& file : *files) {
    if (file.kind == SchemaFile::Kind::kEnvelope) {
      if (file.version.major > envelopeMajor) {
        envelopeMajor = file.version.major;
        envelopeFile = file.file;
      }
      continue;
    }
    if (known.count(file.messageType) == 0) {
      return Error{ErrorCode::kInvalidArgument,
                   file.file + ": " + file.messageType +
                       " is neither published (knownMessageTypes(), broker/topology.hpp) nor "
                       "consumed (inbound/inbound_handlers.hpp)",
                   file.file};
    }
    auto& slot = versions[file.messageType][file.version.major];
    if (slot.file.empty() || slot.minor < file.version.minor) {
      slot =
          MessageVersion{file.version.major, file.version.minor, file.file, file.version.text(),
                         readDescription((fs::path(inputs.schemaDirectory) / file.file).string())};
    }
  }
  if (envelopeFile.empty()) {
    return Error{ErrorCode::kInvalidArgument,
                 "no envelope/StandardMessage.v<major>.json in " + inputs.schemaDirectory, ""};
  }
  for (const auto& type : known) {
    if (versions.count(type) == 0) {
      return Error{ErrorCode::kInvalidArgument,
                   "no schema for " + type + " in " + inputs.schemaDirectory, type};
    }
  }

  const TopologyConfig& topology = inputs.topology;
  const std::string& prefix = inputs.schemaRefPrefix;

  Json doc = Json::object();
  doc["asyncapi"] = "3.0.0";
  doc["info"] = {
      {"title", "Order Service messages"},
      {"version", "1.0.0"},
      {"description",
       "What the Order Service publishes and consumes on RabbitMQ (AMQP 0-9-1).\n"
       "\n"
       "Every message is a StandardMessage envelope (" +
           prefix + envelopeFile +
           ") whose payload has a JSON Schema (draft-07) per message type and version, "
           "referenced here from " +
           prefix +
           " rather than copied. Versioning rules: "
           "docs/events/versioning.md; the events one by one: docs/events/.\n"
           "\n"
           "The events go to the " +
           topology.exchange +
           " exchange (direct, durable) with "
           "the messageType as routing key (messageType.v<major> for a major >= 2, e.g. "
           "OrderCreatedEvent.v2, so that a 1.x queue never receives a 2.x message), as persistent "
           "messages published with mandatory "
           "set and publisher confirms; a message no queue binds goes to the alternate "
           "exchange " +
           topology.alternateExchange + " (queue " + topology.unroutedQueue +
           "). Delivery is at least once: deduplicate on messageId.\n"
           "\n"
           "Generated by `order-events asyncapi` from " +
           prefix +
           " and config/topology.json: do not edit by hand, regenerate with `order-events "
           "asyncapi > docs/asyncapi.yaml` (a unit test compares the two)."}};
  doc["defaultContentType"] = "application/json";
  doc["servers"] = {
      {"rabbitmq",
       {{"host", "localhost:5672"},
        {"protocol", "amqp"},
        {"protocolVersion", "0.9.1"},
        {"description",
         "The broker the service is configured with (--amqp-url); the host here is the "
         "default of a local run."}}}};

  Json channels = Json::object();
  Json operations = Json::object();
  Json messages = Json::object();

  // A channel is one routing key; `majors` are the major versions that travel on it (one per
  // routing key for our events, events/routing_key.hpp; every major of an inbound type).
  auto channelFor = [&](const std::string& type, const std::string& routingKey,
                        const std::vector<int>& majors, const std::string& exchange,
                        const std::string& description) {
    Json channel = Json::object();
    channel["address"] = routingKey;
    channel["title"] = exchange + " / " + routingKey;
    channel["description"] = description;
    Json channelMessages = Json::object();
    for (const int major : majors) {
      const std::string id = messageId(type, major);
      channelMessages[id] = refTo("#/components/messages/" + escapeRefToken(id));
    }
    channel["messages"] = channelMessages;
    channel["bindings"] = {{"amqp",
                            {{"is", "routingKey"},
                             {"exchange",
                              {{"name", exchange},
                               {"type", "direct"},
                               {"durable", true},
                               {"autoDelete", false},
                               {"vhost", "/"}}},
                             {"bindingVersion", kAmqpBindingVersion}}}};
    return channel;
  };
  auto operationMessages = [&](const std::string& type, const std::string& routingKey,
                               const std::vector<int>& majors) {
    Json list = Json::array();
    for (const int major : majors) {
      list.push_back(refTo("#/channels/" + escapeRefToken(routingKey) + "/messages/" +
                           escapeRefToken(messageId(type, major))));
    }
    return list;
  };
  auto allMajors = [&](const std::string& type) {
    std::vector<int> majors;
    for (const auto& [major, version] : versions.at(type)) majors.push_back(major);
    return majors;
  };
  auto messageFor = [&](const std::string& type, const MessageVersion& version, bool published,
                        const std::string& docsPage) {
    Json message = Json::object();
    message["name"] = type;
    message["title"] = type + " " + std::to_string(version.major) + ".x";
    if (!version.description.empty()) message["summary"] = version.description;
    message["description"] = "Payload schema: " + prefix + version.file + " (the newest " +
                             std::to_string(version.major) + ".x). Documentation: " + docsPage +
                             ".";
    message["contentType"] = "application/json";
    if (published) message["headers"] = refTo("#/components/schemas/OrderEventHeaders");
    message["correlationId"] = refTo("#/components/correlationIds/envelopeCorrelationId");
    message["payload"] = payloadOf(type, version, envelopeFile, prefix);
    message["bindings"] = {
        {"amqp", {{"messageType", type}, {"bindingVersion", kAmqpBindingVersion}}}};
    return message;
  };

  for (const auto& type : inputs.publishedTypes) {
    for (const auto& [major, version] : versions.at(type)) {
      const std::string key = routingKeyFor(type, major);
      std::vector<std::string> queues;
      for (const auto& queue : topology.queues) {
        if (std::find(queue.routingKeys.begin(), queue.routingKeys.end(), key) !=
            queue.routingKeys.end()) {
          queues.push_back(queue.name);
        }
      }
      std::string bound;
      for (const auto& q : queues) bound += (bound.empty() ? "" : ", ") + q;
      const std::string majorText = std::to_string(major) + ".x";
      channels[key] = channelFor(
          type, key, {major}, topology.exchange,
          "Routing key " + key + " on " + topology.exchange + ": " + type + " " + majorText +
              (major == 1 ? std::string(" (major 1 is routed by the messageType alone)")
                          : " (each major >= 2 has a routing key of its own, so queues bound to " +
                                type + " never receive it)") +
              ". Published when the service is configured to publish this major "
              "(--publish-versions; by default every type at 1.0). " +
              (queues.empty() ? std::string("No queue of config/topology.json binds it: a "
                                            "consumer binds a queue of its own.")
                              : "Bound by the queues of config/topology.json: " + bound + "."));
      const std::string operation =
          "publish" + type + (major == 1 ? std::string() : "V" + std::to_string(major));
      operations[operation] = {
          {"action", "send"},
          {"channel", refTo("#/channels/" + escapeRefToken(key))},
          {"summary", "The outbox relay publishes " + type + " " + majorText +
                          " after the change that caused it committed (transactional outbox)."},
          {"messages", operationMessages(type, key, {major})},
          {"bindings",
           {{"amqp",
             {{"deliveryMode", 2},
              {"mandatory", true},
              {"timestamp", true},
              {"bindingVersion", kAmqpBindingVersion}}}}}};
      messages[messageId(type, major)] =
          messageFor(type, version, true,
                     "docs/events/" + (major == 1 ? type : routingKeyFor(type, major)) + ".md");
    }
  }
  for (const auto& inbound : inputs.inbound) {
    for (const auto& type : inbound.messageTypes) {
      channels[type] = channelFor(
          type, type, allMajors(type), inbound.exchange,
          "Routing key " + type + " on " + inbound.exchange + ", published by the " +
              inbound.producer + ". The Order Service consumes it from its quorum queue " +
              inbound.queue + " (retries in " + inbound.queue + ".retry.1..3, dead letters in " +
              inbound.queue + ".dlq; docs/consumers.md).");
      operations["consume" + type] = {
          {"action", "receive"},
          {"channel", refTo("#/channels/" + escapeRefToken(type))},
          {"summary", "The Order Service applies " + type + " (docs/events/inbound/" + type +
                          ".md); any " + std::to_string(versions.at(type).begin()->first) +
                          ".x is accepted, another major is dead-lettered."},
          {"messages", operationMessages(type, type, allMajors(type))},
          {"bindings", {{"amqp", {{"ack", true}, {"bindingVersion", kAmqpBindingVersion}}}}}};
      for (const auto& [major, version] : versions.at(type)) {
        messages[messageId(type, major)] =
            messageFor(type, version, false, "docs/events/inbound/" + type + ".md");
      }
    }
  }

  doc["channels"] = channels;
  doc["operations"] = operations;
  doc["components"] = {
      {"messages", messages},
      {"schemas", {{"OrderEventHeaders", headersSchema()}}},
      {"correlationIds",
       {{"envelopeCorrelationId",
         {{"description",
           "The correlation id of the request that caused the change (X-Correlation-Id); "
           "absent when it had none."},
          {"location", "$message.payload#/correlationId"}}}}}};

  std::string yaml =
      "# Generated by `order-events asyncapi` from schemas/ and config/topology.json. Do not "
      "edit:\n"
      "# regenerate with `order-events asyncapi > docs/asyncapi.yaml`.\n";
  writeValue(doc, 0, yaml);
  return yaml;
}

}  // namespace orders::tools
