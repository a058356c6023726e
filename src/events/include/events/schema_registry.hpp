#pragma once
// The JSON Schemas of every message type and version (schemas/), loaded once and used to
// validate messages before they are written (producer) and before a handler runs (consumer).

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace orders {

/// Immutable after load(): every const member may be called from any number of threads at once.
/// Each schema file is parsed exactly once, by load(); validation parses nothing.
class SchemaRegistry {
 public:
  /// Loads every schema under `directory` (see schemas/README.md for the layout):
  ///  - envelope/StandardMessage.v<major>.json: the StandardMessage envelope (v1 is required);
  ///  - <any folder>/<MessageType>/<major>.<minor>.json: the payload of that message type and
  ///    version, in any folder of any depth (events/ holds what the Order Service publishes).
  /// Other files that are not .json (README.md...) and hidden files are ignored. Fails with
  /// kInvalidArgument naming the file that is missing, misplaced, not JSON, not a draft-07 schema,
  /// or a second definition of the same type and version.
  static Result<SchemaRegistry> load(const std::string& directory);

  SchemaRegistry(SchemaRegistry&&) noexcept;
  SchemaRegistry& operator=(SchemaRegistry&&) noexcept;
  ~SchemaRegistry();

  /// Validates a whole StandardMessage JSON text: the envelope, then the payload against the
  /// schema of its messageType and messageVersion. A version 1.x message is checked against the
  /// newest 1.y schema we have (minor versions only add optional fields). kInvalidArgument with
  /// the JSON pointer of the offending field and the rule it broke. Thread-safe.
  Status validateMessage(std::string_view json) const;
  /// Text overloads: a std::string or literal would otherwise be ambiguous between the text and
  /// the nlohmann::json overloads (both convert implicitly). Both mean "this is JSON text".
  Status validateMessage(const std::string& json) const {
    return validateMessage(std::string_view(json));
  }
  Status validateMessage(const char* json) const { return validateMessage(std::string_view(json)); }

  /// The same for a message that is already parsed (the producer never re-parses its own text).
  /// On failure, Error::field is the JSON pointer without the leading '/' ("payload/items/0/
  /// quantity", "" for the document itself) and Error::message starts with it:
  /// "payload/items/0/quantity: Expected number greater than or equal to 1.000000". Values are
  /// never copied into the message (they may be personal data); only their JSON type is named.
  Status validateMessage(const nlohmann::json& message) const;

  /// True if a schema for this type and major version is known.
  bool knows(std::string_view messageType, int majorVersion) const;

  /// The version of the schema a `messageType` message of `majorVersion` is validated against
  /// (the newest minor), e.g. "1.0"; empty when unknown.
  std::string schemaVersion(std::string_view messageType, int majorVersion) const;

 private:
  struct Impl;
  explicit SchemaRegistry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace orders
