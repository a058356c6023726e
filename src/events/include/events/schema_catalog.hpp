#pragma once
// The schema files of a schema directory (schemas/), as a list: which message type and version
// each file defines. The one place that knows the layout (schemas/README.md, "Layout");
// SchemaRegistry::load() reads the files it lists, `order-events schema check-all` compares
// consecutive versions of each type.

#include <compare>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace orders {

/// `<major>.<minor>` of a payload schema, `<major>.0` for the envelope.
struct SchemaVersion {
  int major = 0;
  int minor = 0;

  std::string text() const { return std::to_string(major) + "." + std::to_string(minor); }
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 false positive on a defaulted <=>
  auto operator<=>(const SchemaVersion&) const = default;
};

/// "1.0" -> {1, 0}; kInvalidArgument for anything else ("1", "1.0.0", "v1.0", "-1.0").
Result<SchemaVersion> parseSchemaVersion(std::string_view text);

struct SchemaFile {
  enum class Kind { kEnvelope, kPayload };
  Kind kind = Kind::kPayload;
  /// Relative to the schema directory, '/'-separated: "events/OrderCreatedEvent/1.0.json".
  std::string file;
  /// The payload's messageType; "StandardMessage" for the envelope.
  std::string messageType;
  SchemaVersion version;
};

inline constexpr const char* kEnvelopeMessageType = "StandardMessage";

/// Every schema file under `directory`, sorted by `file`:
///  - envelope/StandardMessage.v<major>.json (kEnvelope, version <major>.0);
///  - <any folder>/<MessageType>/<major>.<minor>.json at any depth (kPayload).
/// Hidden files and directories and files that are not .json are skipped. Only the names are
/// checked, not the contents. kInvalidArgument, with the relative file in Error::field, for a
/// .json file that fits neither pattern, and for a missing or unreadable directory.
Result<std::vector<SchemaFile>> listSchemaFiles(const std::string& directory);

}  // namespace orders
