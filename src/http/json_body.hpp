#pragma once
// Reading JSON request bodies with errors that name the field at fault. Unknown fields are
// ignored (tolerant reader), as documented in docs/api.md.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "http/message.hpp"

namespace orders::http {

/// Checks Content-Type (application/json or any +json, charset utf-8 only) and parses the body
/// as a JSON object. On failure returns the ready-to-send problem response (415 or 400).
std::optional<Response> parseJsonObject(const Request& request, nlohmann::json& out);

/// A JSON object being read field by field. Each getter returns an Error naming the full path of
/// the field (e.g. "items/2/quantity") when it is missing (if required) or of the wrong type.
class JsonReader {
 public:
  JsonReader(const nlohmann::json& object, std::string path = "")
      : object_(object), path_(std::move(path)) {}

  Result<std::string> string(const std::string& key) const;
  Result<std::optional<std::string>> optionalString(const std::string& key) const;
  Result<std::int64_t> integer(const std::string& key) const;
  Result<double> number(const std::string& key) const;
  Result<std::optional<bool>> optionalBool(const std::string& key) const;
  /// The nested object at `key`, or an error if absent or not an object.
  Result<JsonReader> object(const std::string& key) const;
  bool has(const std::string& key) const;
  const nlohmann::json* raw(const std::string& key) const;
  std::string fieldPath(const std::string& key) const;

 private:
  const nlohmann::json& object_;
  std::string path_;
};

}  // namespace orders::http
