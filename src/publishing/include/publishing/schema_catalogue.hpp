#pragma once
// What `GET /v1/schemas` serves: every schema file of the schema directory with its status for
// this instance, and the file itself (the seed's "schema registry" in its simplest form: consumers
// fetch and validate against exactly what this instance publishes). Built once at start from the
// schema directory and the PublishedVersions configuration; immutable afterwards.
//
// Status of a version (docs/events/versioning.md, "The schema endpoint"), decided per major:
//  - "active": this instance publishes this major of the type and no newer one; for a type it
//    consumes (from another service), every version: it validates inbound messages against it;
//  - "deprecated": this instance still publishes this major, but also a newer major of the type,
//    which supersedes it (a migration is under way: move to the newer major; this one will stop
//    being published once the consumers have moved);
//  - "available": the schema is published in this repository but this instance does not publish
//    that major (a newer major not switched on yet, or an older one no longer sent).

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "publishing/published_versions.hpp"

namespace orders {

struct CatalogueVersion {
  std::string version;     // "1.0"
  std::string status;      // "active" | "deprecated" | "available"
  bool published = false;  // this exact version is what this instance renders (published types)
  std::string routingKey;  // on order.events (published types); empty otherwise
  std::string file;        // relative to the schema directory: "events/OrderCreatedEvent/1.0.json"
  std::string schema;      // the file's bytes, exactly as published (schemas.lock hashes them)
};

struct CatalogueEntry {
  std::string messageType;  // "OrderCreatedEvent"; "StandardMessage" for the envelope
  std::string direction;    // "published" | "consumed" | "envelope"
  std::vector<CatalogueVersion> versions;  // ascending
};

class SchemaCatalogue {
 public:
  /// Reads every schema file of `directory` (events/schema_catalog.hpp's layout). A type the
  /// Order Service publishes (kOrderEventTypes) is "published", the envelope "envelope", any
  /// other type "consumed". kInvalidArgument naming the file for a directory that cannot be
  /// listed or a file that cannot be read.
  static Result<SchemaCatalogue> load(const std::string& directory,
                                      const PublishedVersions& published);

  /// Sorted by messageType (the envelope among them).
  const std::vector<CatalogueEntry>& entries() const { return entries_; }

  /// The version of `messageType`, or null when there is no such type or version.
  const CatalogueVersion* find(std::string_view messageType, std::string_view version) const;
  const CatalogueEntry* find(std::string_view messageType) const;

 private:
  std::vector<CatalogueEntry> entries_;
};

}  // namespace orders
