#pragma once
// A private PostgreSQL 15 server for component tests (*_pgtest.cpp): initdb + pg_ctl from
// /usr/lib/postgresql/15/bin in a temporary directory, on a free port of 127.0.0.1 and a unix
// socket in that directory, fsync on (the tests and benchmarks measure durable commits). As root
// it runs as the `postgres` user (runuser), owning the directory.
//
// One server serves a whole CTest run: the fixture test `postgres_server_start` (tests/support/
// postgres_fixture.cpp) starts it and writes its connection info to a file in the build tree,
// `postgres_server_stop` stops it, and every PostgreSQL test requires the fixture
// (order_service_pg_test in tests/support/CMakeLists.txt) and works in a database of its own
// (createDatabase()). A test binary run outside ctest starts a server of its own (shared()).
//
// TLS: TCP connections may use TLS (ssl = on) with a certificate for localhost / 127.0.0.1 signed
// by a CA made at start (info().caFile); database kTlsOnlyDatabase refuses TCP without TLS.
//
// Two roles: `postgres` (superuser, trusted on the socket: test setup, fault injection) and
// `order_service` (the service's role, password authentication over both socket and TCP, with a
// random password: what the service is given).
//
// Errors throw std::runtime_error with the tail of the server log. Not thread-safe.

#include <memory>
#include <string>
#include <vector>

namespace orders::testing {

struct PostgresConnectionInfo {
  std::string directory;  // the server's temporary directory (data/, log, socket)
  std::string socketDir;  // where the unix socket .s.PGSQL.<port> is
  int port = 0;           // TCP on 127.0.0.1 and the socket's number
  std::string appUser;    // a role with a password
  std::string appPassword;
  std::string caFile;  // the CA that signed the server's TLS certificate (DNS:localhost, 127.0.0.1)

  /// Key=value lines, one per field (the fixture's file format).
  std::string serialize() const;
  static PostgresConnectionInfo parse(const std::string& text);
};

class PostgresServer {
 public:
  /// The database name whose TCP connections must use TLS (pg_hba: hostnossl ... reject).
  static constexpr const char* kTlsOnlyDatabase = "tls_only";

  /// initdb, pg_ctl start (-w), creates the application role. Throws on failure.
  static std::unique_ptr<PostgresServer> start();
  /// A running server someone else started (the fixture), described by `info`; not stopped by
  /// the destructor.
  static std::unique_ptr<PostgresServer> attach(PostgresConnectionInfo info);
  /// The fixture's server when ctest runs the fixture (its file exists), else one started by
  /// this process on first use and stopped at exit.
  static PostgresServer& shared();

  /// Stops the server (if this object started it) and removes its directory.
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  const PostgresConnectionInfo& info() const { return info_; }

  /// Creates (after dropping it, if a failed earlier run left it) database `name`, owned by the
  /// application role. Names: [a-z0-9_], at most 63 characters.
  void createDatabase(const std::string& name);
  /// postgresql://order_service@/NAME?host=SOCKETDIR&port=PORT: no password in the URL (give it
  /// through PGPASSWORD, the password file, or appUrlWithPassword()).
  std::string appUrl(const std::string& database) const;
  /// The same with the password in the URL's user info.
  std::string appUrlWithPassword(const std::string& database) const;
  /// The superuser `postgres` on the socket (trusted, no password).
  std::string adminUrl(const std::string& database = "postgres") const;
  /// Runs SQL as the superuser (a libpq connection of its own); returns the first column of
  /// each row. Throws with the server's message on an error.
  std::vector<std::string> adminQuery(const std::string& database, const std::string& sql) const;

  /// pg_ctl stop -m fast / start -w again (same data, same port).
  void stopServer();
  void startServer();
  std::string logTail(std::size_t lines = 40) const;

  /// Path of the fixture's connection-info file (ORDER_TEST_POSTGRES_INFO, set by CMake).
  static std::string fixtureInfoPath();
  /// The destructor leaves the server running (the fixture's start step hands it to the stop
  /// step).
  void keepRunning() { owned_ = false; }

 private:
  PostgresServer(PostgresConnectionInfo info, bool owned) : info_(std::move(info)), owned_(owned) {}
  PostgresConnectionInfo info_;
  bool owned_;
};

}  // namespace orders::testing
