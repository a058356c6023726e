#include "publishing/schema_catalogue.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "events/order_event_types.hpp"
#include "events/routing_key.hpp"
#include "events/schema_catalog.hpp"

namespace orders {
namespace {

bool isPublishedType(std::string_view type) {
  return std::find(kOrderEventTypes.begin(), kOrderEventTypes.end(), type) !=
         kOrderEventTypes.end();
}

/// The status of `major` of a published type under `published` (see the header).
std::string statusOf(const PublishedVersions& published, std::string_view type, int major) {
  bool publishesMajor = false;
  for (const auto& text : published.of(type)) {
    auto version = parseSchemaVersion(text);
    if (version && version->major == major) publishesMajor = true;
  }
  if (!publishesMajor) return "available";
  return published.supersedes(type, major) ? "deprecated" : "active";
}

}  // namespace

Result<SchemaCatalogue> SchemaCatalogue::load(const std::string& directory,
                                              const PublishedVersions& published) {
  auto files = listSchemaFiles(directory);
  if (!files) return std::move(files).takeError();
  std::map<std::string, CatalogueEntry> byType;
  for (const auto& file : *files) {
    std::ifstream in(std::filesystem::path(directory) / file.file, std::ios::binary);
    std::ostringstream text;
    if (!in || !(text << in.rdbuf())) {
      return Error{ErrorCode::kInvalidArgument, file.file + ": cannot be read", file.file};
    }
    auto& entry = byType[file.messageType];
    entry.messageType = file.messageType;
    CatalogueVersion version;
    version.version = file.version.text();
    version.file = file.file;
    version.schema = text.str();
    if (file.kind == SchemaFile::Kind::kEnvelope) {
      entry.direction = "envelope";
      version.status = "active";
    } else if (isPublishedType(file.messageType)) {
      entry.direction = "published";
      version.status = statusOf(published, file.messageType, file.version.major);
      const auto& versions = published.of(file.messageType);
      version.published =
          std::find(versions.begin(), versions.end(), version.version) != versions.end();
      version.routingKey = routingKeyFor(file.messageType, file.version.major);
    } else {
      entry.direction = "consumed";
      version.status = "active";
    }
    entry.versions.push_back(std::move(version));
  }
  SchemaCatalogue catalogue;
  for (auto& [type, entry] : byType) {
    std::sort(entry.versions.begin(), entry.versions.end(),
              [](const CatalogueVersion& a, const CatalogueVersion& b) {
                return parseSchemaVersion(a.version).value() <
                       parseSchemaVersion(b.version).value();
              });
    catalogue.entries_.push_back(std::move(entry));
  }
  return catalogue;
}

const CatalogueEntry* SchemaCatalogue::find(std::string_view messageType) const {
  for (const auto& entry : entries_) {
    if (entry.messageType == messageType) return &entry;
  }
  return nullptr;
}

const CatalogueVersion* SchemaCatalogue::find(std::string_view messageType,
                                              std::string_view version) const {
  const CatalogueEntry* entry = find(messageType);
  if (entry == nullptr) return nullptr;
  for (const auto& v : entry->versions) {
    if (v.version == version) return &v;
  }
  return nullptr;
}

}  // namespace orders
