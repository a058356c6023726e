#include "events/schema_registry.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>
#include <vector>

#include "events/schema_catalog.hpp"

namespace orders {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kDraft07 = "http://json-schema.org/draft-07/schema#";
constexpr int kRequiredEnvelopeMajor = 1;

/// An array index in a valijson context ("[3]" -> 3).
std::optional<std::size_t> parseIndex(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

struct LoadedSchema {
  std::string file;  // relative to the schema directory, for messages
  SchemaVersion version;
  std::unique_ptr<valijson::Schema> schema;
};

Error loadError(const std::string& file, const std::string& message) {
  return Error{ErrorCode::kInvalidArgument, "schema " + file + ": " + message, file};
}

Result<std::unique_ptr<valijson::Schema>> parseSchemaFile(const fs::path& path,
                                                          const std::string& name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return loadError(name, "cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  const auto document = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return loadError(name, "is not valid JSON");
  if (!document.is_object()) return loadError(name, "is not a JSON object");
  if (const auto it = document.find("$schema"); it != document.end()) {
    if (!it->is_string() || it->get<std::string>() != kDraft07) {
      return loadError(
          name, "$schema must be \"" + std::string(kDraft07) + "\" (only draft-07 is supported)");
    }
  }
  auto schema = std::make_unique<valijson::Schema>();
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(document);
    parser.populateSchema(adapter, *schema);
  } catch (const std::exception& e) {
    return loadError(name, std::string("is not a valid JSON Schema: ") + e.what());
  }
  return schema;
}

/// valijson's context ("<root>", "[payload]", "[items]", "[0]") as a JSON pointer without the
/// leading slash ("payload/items/0"), '~' and '/' escaped as RFC 6901 says.
std::string pointerOf(const std::vector<std::string>& context, std::string_view prefix) {
  std::string pointer(prefix);
  for (const auto& part : context) {
    if (part.size() < 2 || part.front() != '[' || part.back() != ']') continue;  // "<root>"
    if (!pointer.empty()) pointer += '/';
    for (char c : std::string_view(part).substr(1, part.size() - 2)) {
      if (c == '~') {
        pointer += "~0";
      } else if (c == '/') {
        pointer += "~1";
      } else {
        pointer += c;
      }
    }
  }
  return pointer;
}

const nlohmann::json* valueAt(const nlohmann::json& document,
                              const std::vector<std::string>& context) {
  const nlohmann::json* node = &document;
  for (const auto& part : context) {
    if (part.size() < 2 || part.front() != '[' || part.back() != ']') continue;
    const std::string key = part.substr(1, part.size() - 2);
    if (node->is_object()) {
      const auto it = node->find(key);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      const auto index = parseIndex(key);
      if (!index || *index >= node->size()) return nullptr;
      node = &(*node)[*index];
    } else {
      return nullptr;
    }
  }
  return node;
}

/// Validates `document` against `schema`. Each thread has its own valijson::Validator because
/// the validator caches compiled std::regex objects in an unsynchronised map; the schemas
/// themselves are only read. The cache is keyed by pattern text, so one validator per thread
/// serves every schema of every registry.
Status validateAgainst(const valijson::Schema& schema, const nlohmann::json& document,
                       std::string_view prefix) {
  thread_local valijson::Validator validator(valijson::Validator::kStrongTypes);
  const valijson::adapters::NlohmannJsonAdapter adapter(document);
  // Fast path: without a results object valijson stops at the first failure and builds no
  // messages. Only an invalid document pays for a second, reporting pass.
  if (validator.validate(schema, adapter, nullptr)) return okStatus();
  valijson::ValidationResults results;
  validator.validate(schema, adapter, &results);
  valijson::ValidationResults::Error first;
  if (!results.popError(first)) {
    return Error{ErrorCode::kInvalidArgument, std::string(prefix) + ": is not valid",
                 std::string(prefix)};
  }
  // valijson reports the innermost violation first and then every enclosing one ("failed to
  // validate against schema associated with property..."); the first is the useful one.
  std::string field = pointerOf(first.context, prefix);
  std::string rule = first.description;
  constexpr std::string_view kMissing = "Missing required property '";
  if (rule.rfind(kMissing, 0) == 0) {
    const auto end = rule.find('\'', kMissing.size());
    const std::string property = rule.substr(kMissing.size(), end - kMissing.size());
    field += (field.empty() ? "" : "/") + property;
    rule = "is required but missing";
  } else if (const nlohmann::json* value = valueAt(document, first.context)) {
    rule += std::string(" (found ") + value->type_name() + ")";
  }
  std::string message = (field.empty() ? std::string("(document)") : field) + ": " + rule;
  return Error{ErrorCode::kInvalidArgument, std::move(message), std::move(field)};
}

}  // namespace

struct SchemaRegistry::Impl {
  std::unique_ptr<valijson::Schema> envelope;
  // messageType -> major version -> the newest minor version of that major.
  std::map<std::string, std::map<int, LoadedSchema>, std::less<>> payloads;

  const LoadedSchema* find(std::string_view type, int major) const {
    const auto byType = payloads.find(type);
    if (byType == payloads.end()) return nullptr;
    const auto byMajor = byType->second.find(major);
    return byMajor == byType->second.end() ? nullptr : &byMajor->second;
  }
};

SchemaRegistry::SchemaRegistry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SchemaRegistry::SchemaRegistry(SchemaRegistry&&) noexcept = default;
SchemaRegistry& SchemaRegistry::operator=(SchemaRegistry&&) noexcept = default;
SchemaRegistry::~SchemaRegistry() = default;

Result<SchemaRegistry> SchemaRegistry::load(const std::string& directory) {
  auto files = listSchemaFiles(directory);
  if (!files) return std::move(files).takeError();

  auto impl = std::make_unique<Impl>();
  int envelopeMajor = 0;
  for (const auto& file : *files) {
    auto schema = parseSchemaFile(fs::path(directory) / file.file, file.file);
    if (!schema) return std::move(schema).takeError();
    if (file.kind == SchemaFile::Kind::kEnvelope) {
      // The newest envelope applies to every message; a new envelope major is a platform-wide
      // change, rolled out by shipping its file with the consumers first.
      if (file.version.major > envelopeMajor) {
        envelopeMajor = file.version.major;
        impl->envelope = std::move(schema).value();
      }
      continue;
    }
    auto& byMajor = impl->payloads[file.messageType];
    const auto existing = byMajor.find(file.version.major);
    if (existing != byMajor.end()) {
      if (existing->second.version.minor == file.version.minor) {
        return loadError(file.file, "defines " + file.messageType + " " + file.version.text() +
                                        " again (also in " + existing->second.file + ")");
      }
      if (existing->second.version.minor > file.version.minor) continue;  // an older minor
    }
    byMajor[file.version.major] = LoadedSchema{file.file, file.version, std::move(schema).value()};
  }
  if (envelopeMajor < kRequiredEnvelopeMajor) {
    return loadError(std::string("envelope/") + kEnvelopeMessageType + ".v" +
                         std::to_string(kRequiredEnvelopeMajor) + ".json",
                     "is missing from " + directory);
  }
  return SchemaRegistry(std::move(impl));
}

Status SchemaRegistry::validateMessage(std::string_view json) const {
  const auto message = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) {
    return Error{ErrorCode::kInvalidArgument, "(document): is not valid JSON", ""};
  }
  return validateMessage(message);
}

Status SchemaRegistry::validateMessage(const nlohmann::json& message) const {
  if (auto status = validateAgainst(*impl_->envelope, message, ""); !status) return status;
  // The envelope schema requires both strings; checked again in case a replaced envelope schema
  // does not, since a crash here would take a consumer down on one bad message.
  const auto typeIt = message.find("messageType");
  const auto versionIt = message.find("messageVersion");
  const auto payloadIt = message.find("payload");
  if (typeIt == message.end() || !typeIt->is_string() || versionIt == message.end() ||
      !versionIt->is_string() || payloadIt == message.end()) {
    return Error{ErrorCode::kInvalidArgument,
                 "(document): needs messageType and messageVersion strings and a payload", ""};
  }
  const auto& type = typeIt->get_ref<const std::string&>();
  const auto& versionText = versionIt->get_ref<const std::string&>();
  const auto version = parseSchemaVersion(versionText);
  const auto byType = impl_->payloads.find(type);
  if (byType == impl_->payloads.end()) {
    return Error{ErrorCode::kInvalidArgument, "messageType: no schema for message type " + type,
                 "messageType"};
  }
  const LoadedSchema* schema = version ? impl_->find(type, version->major) : nullptr;
  if (schema == nullptr) {
    std::string known;
    for (const auto& [major, loaded] : byType->second) {
      known += (known.empty() ? "" : ", ") + loaded.file;
    }
    return Error{ErrorCode::kInvalidArgument,
                 "messageVersion: no schema for " + type + " version " + versionText +
                     " (unknown major version; have " + known + ")",
                 "messageVersion"};
  }
  return validateAgainst(*schema->schema, *payloadIt, "payload");
}

bool SchemaRegistry::knows(std::string_view messageType, int majorVersion) const {
  return impl_->find(messageType, majorVersion) != nullptr;
}

std::string SchemaRegistry::schemaVersion(std::string_view messageType, int majorVersion) const {
  const LoadedSchema* schema = impl_->find(messageType, majorVersion);
  if (schema == nullptr) return "";
  return std::to_string(schema->version.major) + "." + std::to_string(schema->version.minor);
}

}  // namespace orders
