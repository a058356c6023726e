#include "postgres/connection_settings.hpp"

#include <libpq-fe.h>

#include <fstream>

namespace orders::postgres {

bool isPostgresUrl(const std::string& url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

std::string redactDatabaseUrl(const std::string& url) {
  std::string out = url;
  const auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    const auto authorityStart = scheme + 3;
    const auto authorityEnd = out.find_first_of("/?", authorityStart);
    const auto at = out.rfind('@', authorityEnd == std::string::npos ? out.size() : authorityEnd);
    if (at != std::string::npos && at >= authorityStart) {
      const auto colon = out.find(':', authorityStart);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // ?password=... or &password=...
  for (const char* key : {"?password=", "&password="}) {
    const auto position = out.find(key);
    if (position == std::string::npos) continue;
    const auto valueStart = position + std::char_traits<char>::length(key);
    const auto valueEnd = out.find('&', valueStart);
    out.replace(valueStart, (valueEnd == std::string::npos ? out.size() : valueEnd) - valueStart,
                "***");
  }
  return out;
}

Result<ConnectionSettings> ConnectionSettings::fromUrl(const std::string& url,
                                                       const std::string& passwordFile) {
  ConnectionSettings settings;
  settings.url_ = url;
  settings.redacted_ = redactDatabaseUrl(url);
  if (!isPostgresUrl(url)) {
    return invalid("--database", "must be a postgresql:// URL; got '" + settings.redacted_ + "'");
  }
  char* parseError = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &parseError);
  if (options == nullptr) {
    // libpq's message names the part it refused (a parameter name, a port), not the password.
    std::string reason = parseError != nullptr ? parseError : "libpq cannot parse it";
    PQfreemem(parseError);
    while (!reason.empty() && reason.back() == '\n') reason.pop_back();
    return invalid("--database", "'" + settings.redacted_ + "' is not a valid PostgreSQL URL: " +
                                     redactDatabaseUrl(reason));
  }
  PQconninfoFree(options);
  if (!passwordFile.empty()) {
    std::ifstream in(passwordFile);
    std::string line;
    if (!in || !std::getline(in, line)) {
      return invalid("ORDER_SERVICE_DATABASE_PASSWORD_FILE",
                     "cannot read the database password from '" + passwordFile + "'");
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    settings.filePassword_ = std::move(line);
  }
  return settings;
}

}  // namespace orders::postgres
