#include "broker/topology.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "events/order_event_types.hpp"
#include "events/routing_key.hpp"

namespace orders {
namespace {

using nlohmann::json;

Error bad(const std::string& field, const std::string& message) {
  return invalid(field, field + ": " + message);
}

/// AMQP short strings hold 255 bytes; "amq." names are reserved by the broker.
std::optional<Error> checkName(const json& value, const std::string& field) {
  if (!value.is_string()) return bad(field, "must be a string");
  const auto& name = value.get_ref<const std::string&>();
  if (name.empty()) return bad(field, "must not be empty");
  if (name.size() > 255) return bad(field, "longer than 255 bytes");
  if (name.rfind("amq.", 0) == 0) return bad(field, "'" + name + "' uses the reserved prefix amq.");
  return std::nullopt;
}

std::optional<Error> unknownKeys(const json& object, const std::set<std::string>& allowed,
                                 const std::string& where) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (allowed.count(it.key()) == 0) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      const std::string field = where.empty() ? it.key() : where + "." + it.key();
      return bad(field, "unknown key (allowed: " + list + ")");
    }
  }
  return std::nullopt;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

const std::vector<std::string>& knownMessageTypes() {
  static const std::vector<std::string> types(kOrderEventTypes.begin(), kOrderEventTypes.end());
  return types;
}

const std::vector<std::string>& knownRoutingKeys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> all = knownMessageTypes();
    for (const auto& newer : kOrderEventNewerMajors)
      all.push_back(routingKeyFor(newer.messageType, newer.major));
    return all;
  }();
  return keys;
}

Result<TopologyConfig> parseTopology(std::string_view text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for 1e400
    return invalid("", std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) return invalid("", "the topology must be a JSON object");
  if (auto e = unknownKeys(doc,
                           {"exchange", "alternateExchange", "unroutedQueue", "deadLetterExchange",
                            "deadLetterQueue", "queues", "$comment"},
                           ""))
    return *e;

  TopologyConfig config;
  const std::pair<const char*, std::string*> names[] = {
      {"exchange", &config.exchange},
      {"alternateExchange", &config.alternateExchange},
      {"unroutedQueue", &config.unroutedQueue},
      {"deadLetterExchange", &config.deadLetterExchange},
      {"deadLetterQueue", &config.deadLetterQueue},
  };
  for (const auto& [key, target] : names) {
    if (!doc.contains(key)) continue;
    if (auto e = checkName(doc[key], key)) return *e;
    *target = doc[key].get<std::string>();
  }
  if (config.exchange == config.alternateExchange || config.exchange == config.deadLetterExchange ||
      config.alternateExchange == config.deadLetterExchange)
    return bad("exchange", "exchange, alternateExchange and deadLetterExchange must differ");
  if (config.unroutedQueue == config.deadLetterQueue)
    return bad("unroutedQueue", "unroutedQueue and deadLetterQueue must differ");

  if (!doc.contains("queues")) return bad("queues", "missing (a list of consumer queues)");
  const json& queues = doc["queues"];
  if (!queues.is_array()) return bad("queues", "must be an array");

  std::set<std::string> seen = {config.unroutedQueue, config.deadLetterQueue};
  const auto& known = knownRoutingKeys();
  for (std::size_t i = 0; i < queues.size(); ++i) {
    const std::string where = "queues[" + std::to_string(i) + "]";
    const json& q = queues[i];
    if (!q.is_object()) return bad(where, "must be an object");
    if (auto e =
            unknownKeys(q, {"name", "type", "routingKeys", "deliveryLimit", "$comment"}, where))
      return *e;

    ConsumerQueue queue;
    if (!q.contains("name")) return bad(where + ".name", "missing");
    if (auto e = checkName(q["name"], where + ".name")) return *e;
    queue.name = q["name"].get<std::string>();
    if (!seen.insert(queue.name).second)
      return bad(where + ".name", "queue '" + queue.name + "' is declared twice");

    if (q.contains("type")) {
      const json& t = q["type"];
      if (t == "quorum") {
        queue.type = QueueType::kQuorum;
      } else if (t == "classic") {
        queue.type = QueueType::kClassic;
      } else {
        return bad(where + ".type", "must be \"quorum\" or \"classic\", got " + t.dump());
      }
    }

    if (!q.contains("routingKeys")) return bad(where + ".routingKeys", "missing");
    const json& keys = q["routingKeys"];
    if (!keys.is_array() || keys.empty())
      return bad(where + ".routingKeys", "must be a non-empty array of message types");
    for (std::size_t k = 0; k < keys.size(); ++k) {
      const std::string kf = where + ".routingKeys[" + std::to_string(k) + "]";
      if (!keys[k].is_string()) return bad(kf, "must be a string");
      const auto& key = keys[k].get_ref<const std::string&>();
      if (std::find(known.begin(), known.end(), key) == known.end())
        return bad(kf, "unknown routing key '" + key + "' (known: " + joined(known) + ")");
      if (std::find(queue.routingKeys.begin(), queue.routingKeys.end(), key) !=
          queue.routingKeys.end())
        return bad(kf, "'" + key + "' is listed twice");
      queue.routingKeys.push_back(key);
    }

    if (q.contains("deliveryLimit")) {
      const json& limit = q["deliveryLimit"];
      if (!limit.is_number_integer() || limit.get<std::int64_t>() < 1)
        return bad(where + ".deliveryLimit", "must be a positive integer");
      if (queue.type != QueueType::kQuorum)
        return bad(where + ".deliveryLimit", "only quorum queues support a delivery limit");
      queue.deliveryLimit = limit.get<std::int64_t>();
    }
    config.queues.push_back(std::move(queue));
  }
  return config;
}

Result<TopologyConfig> loadTopologyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return invalid("topology", "cannot read topology file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = parseTopology(text.str());
  if (!parsed) {
    Error e = std::move(parsed).takeError();
    e.message = path + ": " + e.message;
    return e;
  }
  return parsed;
}

}  // namespace orders
