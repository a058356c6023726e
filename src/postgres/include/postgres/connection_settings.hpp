#pragma once
// Where the PostgreSQL store connects, and with which password, without the password ever
// reaching a log line, an error message, /readyz or --help: everything shown is redacted().
//
// The URL is libpq's (postgresql://user@host:port/db?param=...; postgres:// too). The password
// comes from, in this order: the URL itself (user:password@), the file given as `passwordFile`
// (ORDER_SERVICE_DATABASE_PASSWORD_FILE in the service: its first line), or libpq's own
// PGPASSWORD / ~/.pgpass.

#include <optional>
#include <string>

#include "common/result.hpp"

namespace orders::postgres {

class ConnectionSettings {
 public:
  /// kInvalidArgument (field "--database") when `url` is not a postgresql:// URL libpq accepts,
  /// or when `passwordFile` is given but cannot be read; the message shows the redacted URL.
  static Result<ConnectionSettings> fromUrl(const std::string& url,
                                            const std::string& passwordFile = "");

  /// The URL as given (with any password in it): only for libpq.
  const std::string& url() const { return url_; }
  /// The password from the file, if one was given; only for libpq.
  const std::optional<std::string>& filePassword() const { return filePassword_; }
  /// The URL with the password (user info or ?password=) replaced by "***": for people.
  const std::string& redacted() const { return redacted_; }

 private:
  std::string url_;
  std::optional<std::string> filePassword_;
  std::string redacted_;
};

/// `url` with the password of its user info and of a password= parameter replaced by "***".
std::string redactDatabaseUrl(const std::string& url);

/// Whether `url` names a PostgreSQL database (postgresql:// or postgres://).
bool isPostgresUrl(const std::string& url);

}  // namespace orders::postgres
