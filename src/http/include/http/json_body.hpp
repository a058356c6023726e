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

/// What one request body may hold (docs/security.md, "Limits"). Configurable downwards only: the
/// domain's own rules (orders/validation.hpp, docs/openapi.yaml: 1000 items, 500 bytes of text)
/// are the contract with the consumers of the events, who sized their storage by it, so they
/// are the ceiling (main/config.cpp refuses larger values). Violations are 422 naming the field
/// and the limit; too deep a document is 400.
struct BodyLimits {
  std::size_t maxJsonDepth = 16;             // nested objects and arrays, the body itself being 1
  std::size_t maxItems = 1000;               // items of an order or of a shipment
  std::size_t maxNameBytes = 500;            // customerDetails/name
  std::size_t maxAddressBytes = 500;         // shippingAddress/street and /city
  std::size_t maxReasonBytes = 500;          // reasons of status changes, cancellations, refunds;
                                             // the message of a payment result
  std::size_t maxChangeContextBytes = 2048;  // changeContext as compact JSON text
  std::size_t maxChangeContextDepth = 3;     // changeContext itself being 1
  /// The only keys a caller's changeContext may have: it is copied into OrderStatusChangedEvent,
  /// which every consumer reads, so nothing personal may ride in it unreviewed. A key not listed
  /// is refused (422), not dropped: the caller learns it, and nothing is lost silently.
  std::vector<std::string> changeContextKeys = defaultChangeContextKeys();

  /// The keys of the seeds' examples (docs/events: payment, fulfilment and pickup details).
  static std::vector<std::string> defaultChangeContextKeys();
};

/// Checks Content-Type (application/json or any +json, charset utf-8 only) and parses the body
/// as a JSON object, at most `maxDepth` levels deep. On failure returns the ready-to-send
/// problem response (415 or 400).
std::optional<Response> parseJsonObject(const Request& request, ExactJson& out,
                                        std::size_t maxDepth = BodyLimits{}.maxJsonDepth);

/// A JSON object being read field by field. Each getter returns an Error naming the full path of
/// the field (e.g. "items/2/quantity") when it is missing (if required) or of the wrong type.
/// Borrows the document and the limits: they must outlive the reader.
class JsonReader {
 public:
  /// Reads the document's root, which must be an object, under `limits` (the defaults when null).
  explicit JsonReader(const ExactJson& document, const BodyLimits* limits = nullptr)
      : JsonReader(document, document.value, "", limits ? limits : &defaultLimits()) {}

  /// What the body readers (http/request_bodies.hpp) hold the body to.
  const BodyLimits& limits() const { return *limits_; }

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
  JsonReader(const ExactJson& document, const nlohmann::json& object, std::string pointer,
             const BodyLimits* limits)
      : document_(&document), object_(&object), pointer_(std::move(pointer)), limits_(limits) {}
  static const BodyLimits& defaultLimits();

  const ExactJson* document_;
  const nlohmann::json* object_;
  std::string pointer_;  // of object_, e.g. "/items/0"
  const BodyLimits* limits_;
};

}  // namespace orders::http
