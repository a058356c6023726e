#pragma once
// Reading JSON request bodies with errors that name the field at fault. Unknown fields are
// ignored (tolerant reader), as documented in docs/api.md. Numbers are read as written
// (events/exact_json.hpp): a quantity or an amount is never judged on a double.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "events/exact_json.hpp"
#include "http/message.hpp"

namespace orders::http {

/// Checks Content-Type (application/json or any +json, charset utf-8 only) and parses the body
/// as a JSON object. On failure returns the ready-to-send problem response (415 or 400).
std::optional<Response> parseJsonObject(const Request& request, ExactJson& out);

/// A JSON object being read field by field. Each getter returns an Error naming the full path of
/// the field (e.g. "items/2/quantity") when it is missing (if required) or of the wrong type.
/// Borrows the document: it must outlive the reader.
class JsonReader {
 public:
  /// Reads the document's root, which must be an object.
  explicit JsonReader(const ExactJson& document) : JsonReader(document, document.value, "") {}

  Result<std::string> string(const std::string& key) const;
  Result<std::optional<std::string>> optionalString(const std::string& key) const;
  /// A whole number as written ("2", "2.0", "1e2"; not "1.0000000000000000001"), in int64.
  Result<std::int64_t> integer(const std::string& key) const;
  /// Any number, as its decimal text as written (for money: orders/money.hpp toMinorUnits).
  Result<std::string> number(const std::string& key) const;
  Result<std::optional<bool>> optionalBool(const std::string& key) const;
  /// The nested object at `key`, or an error if absent or not an object.
  Result<JsonReader> object(const std::string& key) const;
  /// The array of objects at `key`: absent is nullopt; not an array, or an element that is not
  /// an object, is an error naming it.
  Result<std::optional<std::vector<JsonReader>>> optionalObjects(const std::string& key) const;
  bool has(const std::string& key) const;
  const nlohmann::json* raw(const std::string& key) const;
  /// "items/0/unitPrice": the field's JSON pointer without the leading slash, as errors name it.
  std::string fieldPath(const std::string& key) const;

 private:
  JsonReader(const ExactJson& document, const nlohmann::json& object, std::string pointer)
      : document_(&document), object_(&object), pointer_(std::move(pointer)) {}

  const ExactJson* document_;
  const nlohmann::json* object_;
  std::string pointer_;  // of object_, e.g. "/items/0"
};

}  // namespace orders::http
