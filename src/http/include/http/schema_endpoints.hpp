#pragma once
// GET /v1/schemas and GET /v1/schemas/{messageType}/{version} (docs/api.md, "Event schemas"):
// the schema catalogue of this instance (publishing/schema_catalogue.hpp) over HTTP. Public reads:
// the schemas are what every consumer may validate against, with no personal data in them.

#include "http/message.hpp"
#include "publishing/schema_catalogue.hpp"

namespace orders::http {

/// 200, application/json: {"schemas": [{messageType, direction, versions: [{version, status,
/// published?, routingKey?, href, file}]}]}
/// (`file`: where the schema lives in schemas/, so a consumer can mirror the directory), sorted by
/// messageType, versions ascending.
Response schemaCatalogueResponse(const SchemaCatalogue& catalogue);

/// 200, application/schema+json: the schema file's bytes exactly as published, immutable (a
/// published version is never edited: schemas/schemas.lock), so cacheable for a day. 404
/// problem+json naming the unknown type, or the unknown version and the versions there are.
Response schemaResponse(const SchemaCatalogue& catalogue, const std::string& messageType,
                        const std::string& version);

}  // namespace orders::http
