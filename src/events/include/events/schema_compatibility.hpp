#pragma once
// Is version N+1 of a message schema a compatible (minor) change of version N, or does it need a
// new major version? Compares two JSON Schemas (draft-07) of one message type, keyword by
// keyword, and lists every change with the JSON pointer it is at. The rules are written down,
// with the reasons, in docs/events/versioning.md; `order-events schema check` and `check-all`
// (src/tools/order_events/schema_commands.hpp) are the commands that use it.
//
// In short: a change is breaking when the new schema refuses a message the old one accepted
// (a consumer that validates against the new schema would reject an old message, e.g. one still
// in a queue), and also when a property is removed (consumers that read it lose it, even if it was
// optional). Everything the new schema accepts in addition is additive. Unlike Confluent Schema
// Registry, adding an optional property is additive even though the content model is open:
// our consumers are tolerant readers (docs/events/versioning.md says why).

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace orders {

enum class SchemaChangeKind {
  kPropertyRemoved,             // breaking
  kPropertyAdded,               // additive: a new optional property
  kRequiredAdded,               // breaking: a new required property, or an optional one required
  kRequiredRemoved,             // additive
  kTypeChanged,                 // breaking: an old type is gone and a new one came
  kTypeNarrowed,                // breaking: an old type is gone ("number" -> "integer")
  kTypeWidened,                 // additive: a type was added ("string" -> ["string", "null"])
  kEnumNarrowed,                // breaking: a value is no longer allowed, or an enum was added
  kEnumWidened,                 // additive: a value was added, or the enum/const was removed
  kConstChanged,                // breaking: a const was added or changed
  kAdditionalPropertiesClosed,  // breaking: true/absent -> false or a schema
  kAdditionalPropertiesOpened,  // additive: false or a schema -> true/absent
  kBoundTightened,   // breaking: minimum/maximum/exclusive*/multipleOf/min*/max* stricter or added
  kBoundLoosened,    // additive: less strict or removed
  kPatternChanged,   // breaking: added or changed (regular expressions are not compared)
  kPatternRemoved,   // additive
  kFormatChanged,    // breaking: added or changed
  kFormatRemoved,    // additive
  kConstraintAdded,  // breaking: not, contains, uniqueItems, propertyNames, patternProperties,
                     // dependencies, an allOf or oneOf branch, if/then, a false schema...
  kConstraintRemoved,   // additive: one of those removed
  kAlternativeAdded,    // additive: a new anyOf branch
  kAlternativeRemoved,  // breaking: an anyOf or oneOf branch removed
  kUncomparable,        // breaking: a change the checker cannot prove compatible (a changed `if`,
                        // a tuple `items` becoming a schema, an unknown keyword...)
};

/// "property-removed", "bound-tightened"... (the kind in kebab case, as the CLI prints it).
const char* toString(SchemaChangeKind kind);

struct SchemaChange {
  /// Where the change is, as a JSON pointer (RFC 6901) from the root of the schema, with every
  /// $ref followed transparently: "/properties/items/items/properties/quantity/minimum" even
  /// when `items` is {"$ref": "#/definitions/lineItems"}. The same in both versions however each
  /// one organises its definitions; "" is the schema itself.
  std::string pointer;
  /// Where the keyword really is: "<file>#<pointer>" (file empty for a schema given in memory),
  /// in the new schema, or in the old one for what the new one no longer has.
  std::string location;
  /// The part of a message it is about, as a JSON pointer into the instance with "*" for any
  /// array element: "/items/*/quantity"; "" is the whole payload.
  std::string instancePath;
  SchemaChangeKind kind = SchemaChangeKind::kUncomparable;
  bool breaking = true;
  std::string message;  // "minimum raised from 1 to 2"
};

struct CompatibilityReport {
  std::vector<SchemaChange> changes;  // in schema order: the root first, properties by name

  /// True if any change is breaking: the new version needs a new major.
  bool breaking() const;
};

/// Compares two schemas given in memory. Only local references ("#", "#/definitions/x") can be
/// followed; a reference to another file is kInvalidArgument. kInvalidArgument also for a value
/// that is not a schema (neither an object nor a boolean) and for a reference that resolves to
/// nothing or loops ($ref to itself).
Result<CompatibilityReport> compareSchemas(const nlohmann::json& oldSchema,
                                           const nlohmann::json& newSchema);

/// Reads and compares two schema files. References to other files ("common.json#/definitions/x",
/// "../shared/money.json") are resolved relative to the file that holds them and read once each.
/// kInvalidArgument naming the file that cannot be read, is not JSON, or holds a bad reference.
Result<CompatibilityReport> compareSchemaFiles(const std::string& oldFile,
                                               const std::string& newFile);

}  // namespace orders
