#pragma once
// The JSON Schemas of every message type and version (schemas/), loaded once and used to
// validate messages before they are written (producer) and before a handler runs (consumer).

#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace orders {

class SchemaRegistry {
 public:
  /// Loads every schema under `directory` (see schemas/README.md for the layout). Fails naming
  /// the file that is missing or not a valid schema.
  static Result<SchemaRegistry> load(const std::string& directory);

  SchemaRegistry(SchemaRegistry&&) noexcept;
  SchemaRegistry& operator=(SchemaRegistry&&) noexcept;
  ~SchemaRegistry();

  /// Validates a whole StandardMessage JSON text: the envelope, then the payload against the
  /// schema of its messageType and messageVersion. A version 1.x message is checked against the
  /// newest 1.y schema we have (minor versions only add optional fields). kInvalidArgument with
  /// the JSON pointer of the offending field and the rule it broke. Thread-safe.
  Status validateMessage(std::string_view json) const;

  /// True if a schema for this type and major version is known.
  bool knows(std::string_view messageType, int majorVersion) const;

 private:
  struct Impl;
  explicit SchemaRegistry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace orders
