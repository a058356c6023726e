#include "http/schema_endpoints.hpp"

#include <nlohmann/json.hpp>

#include "http/problem.hpp"

namespace orders::http {
namespace {

using nlohmann::json;

constexpr const char* kSchemasPath = "/v1/schemas/";

}  // namespace

Response schemaCatalogueResponse(const SchemaCatalogue& catalogue) {
  json schemas = json::array();
  for (const auto& entry : catalogue.entries()) {
    json versions = json::array();
    for (const auto& v : entry.versions) {
      json version = {{"version", v.version},
                      {"status", v.status},
                      {"href", kSchemasPath + entry.messageType + "/" + v.version},
                      {"file", v.file}};
      if (entry.direction == "published") {
        version["published"] = v.published;
        version["routingKey"] = v.routingKey;
      }
      versions.push_back(std::move(version));
    }
    schemas.push_back({{"messageType", entry.messageType},
                       {"direction", entry.direction},
                       {"versions", std::move(versions)}});
  }
  Response response;
  response.status = 200;
  response.body = json{{"schemas", std::move(schemas)}}.dump();
  return response;
}

Response schemaResponse(const SchemaCatalogue& catalogue, const std::string& messageType,
                        const std::string& version) {
  const CatalogueEntry* entry = catalogue.find(messageType);
  if (entry == nullptr) {
    return problemResponse(
        404, "not-found", "Not found",
        "no schema of a message type '" + messageType + "' (GET /v1/schemas lists them)",
        "messageType");
  }
  const CatalogueVersion* found = catalogue.find(messageType, version);
  if (found == nullptr) {
    std::string known;
    for (const auto& v : entry->versions) known += (known.empty() ? "" : ", ") + v.version;
    return problemResponse(
        404, "not-found", "Not found",
        "no version '" + version + "' of " + messageType + " (versions: " + known + ")", "version");
  }
  Response response;
  response.status = 200;
  response.contentType = "application/schema+json";
  response.body = found->schema;
  response.headers.emplace_back("Cache-Control", "public, max-age=86400");
  return response;
}

}  // namespace orders::http
