#include "support/postgres_server.hpp"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "support/tls_certificates.hpp"

namespace orders::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBin = "/usr/lib/postgresql/15/bin/";
constexpr const char* kAppUser = "order_service";

[[noreturn]] void fail(const std::string& message) {
  throw std::runtime_error("PostgresServer: " + message);
}

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail(std::string("socket(): ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    fail(std::string("bind(0): ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string randomPassword() {
  std::random_device rd;
  std::uniform_int_distribution<int> letter('a', 'z');
  std::string password = "pw-";
  for (int i = 0; i < 24; ++i) password += static_cast<char>(letter(rd));
  return password;
}

bool runningAsRoot() {
  return ::geteuid() == 0;
}

/// Runs a PostgreSQL program as the server's user (runuser when we are root), output appended
/// to `log`. Paths come from mkdtemp and our own constants: no shell quoting issues.
int runAsServerUser(const std::string& command, const std::string& log) {
  const std::string full = (runningAsRoot() ? "runuser -u postgres -- " : "") + command + " >>" +
                           log + " 2>&1 </dev/null";
  return std::system(full.c_str());
}

std::string tailOf(const std::string& text, std::size_t lines) {
  std::deque<std::string> last;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += l + "\n";
  return out;
}

std::string tempRoot() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

}  // namespace

std::string PostgresConnectionInfo::serialize() const {
  return "directory=" + directory + "\nsocketDir=" + socketDir + "\nport=" + std::to_string(port) +
         "\nappUser=" + appUser + "\nappPassword=" + appPassword + "\ncaFile=" + caFile + "\n";
}

PostgresConnectionInfo PostgresConnectionInfo::parse(const std::string& text) {
  PostgresConnectionInfo info;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    const std::string value = line.substr(eq + 1);
    if (key == "directory") info.directory = value;
    if (key == "socketDir") info.socketDir = value;
    if (key == "port") info.port = std::atoi(value.c_str());
    if (key == "appUser") info.appUser = value;
    if (key == "caFile") info.caFile = value;
    if (key == "appPassword") info.appPassword = value;
  }
  if (info.directory.empty() || info.port == 0) fail("connection info is incomplete: " + text);
  return info;
}

std::unique_ptr<PostgresServer> PostgresServer::start() {
  std::string pattern = tempRoot() + "/pgtest-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) fail("mkdtemp failed: " + pattern);
  PostgresConnectionInfo info;
  info.directory = pattern;
  info.socketDir = pattern;
  info.port = freePort();
  info.appUser = kAppUser;
  info.appPassword = randomPassword();
  if (runningAsRoot()) {
    const passwd* user = ::getpwnam("postgres");
    if (user == nullptr) fail("running as root but there is no user 'postgres'");
    if (::chown(pattern.c_str(), user->pw_uid, user->pw_gid) != 0)
      fail("chown " + pattern + ": " + std::strerror(errno));
  }
  ::chmod(pattern.c_str(), 0755);
  std::unique_ptr<PostgresServer> server(new PostgresServer(info, true));
  const std::string log = pattern + "/setup.log";
  if (runAsServerUser(std::string(kBin) + "initdb -D " + pattern +
                          "/data -U postgres --auth-local=trust --auth-host=scram-sha-256 "
                          "--no-instructions -E UTF8 --locale=C.UTF-8",
                      log) != 0) {
    fail("initdb failed:\n" + tailOf(readFile(log), 30));
  }
  // TLS on TCP with a CA of the server's own (the tests verify the server against it); the
  // server's files belong to the user it runs as, the key readable by it only (PostgreSQL checks).
  const std::string tlsDir = pattern + "/tls";
  fs::create_directories(tlsDir);
  TlsCertificates certificates(tlsDir);
  const TlsIdentity ca = certificates.authority("postgres-test-ca");
  const TlsIdentity serverTls =
      certificates.issue(ca, "postgres-server", {"DNS:localhost", "IP:127.0.0.1"});
  server->info_.caFile = ca.certFile;
  ::chmod(tlsDir.c_str(), 0755);
  ::chmod(serverTls.keyFile.c_str(), 0600);
  if (runningAsRoot()) {
    const passwd* user = ::getpwnam("postgres");
    for (const auto& file : {serverTls.certFile, serverTls.keyFile}) {
      if (::chown(file.c_str(), user->pw_uid, user->pw_gid) != 0)
        fail("chown " + file + ": " + std::strerror(errno));
    }
  }
  // The application role authenticates with its password on the socket too (the service's
  // password handling is tested over it); only the superuser is trusted there.
  {
    std::ofstream hba(pattern + "/data/pg_hba.conf", std::ios::trunc);
    hba << "local all postgres trust\n"
           "local all all scram-sha-256\n"
        << "hostnossl " << PostgresServer::kTlsOnlyDatabase << " all 127.0.0.1/32 reject\n"
        << "host all all 127.0.0.1/32 scram-sha-256\n";
  }
  {
    std::ofstream conf(pattern + "/data/postgresql.conf", std::ios::app);
    conf << "listen_addresses = '127.0.0.1'\n"
         << "port = " << info.port << "\n"
         << "unix_socket_directories = '" << pattern << "'\n"
         << "fsync = on\nsynchronous_commit = on\n"
         << "max_connections = 200\nshared_buffers = 128MB\n"
         << "log_min_messages = warning\n"
         << "ssl = on\nssl_cert_file = '" << serverTls.certFile << "'\nssl_key_file = '"
         << serverTls.keyFile << "'\n";
  }
  server->startServer();
  server->adminQuery("postgres",
                     "CREATE ROLE " + info.appUser + " LOGIN PASSWORD '" + info.appPassword + "'");
  return server;
}

std::unique_ptr<PostgresServer> PostgresServer::attach(PostgresConnectionInfo info) {
  return std::unique_ptr<PostgresServer>(new PostgresServer(std::move(info), false));
}

std::string PostgresServer::fixtureInfoPath() {
#ifdef ORDER_TEST_POSTGRES_INFO
  return ORDER_TEST_POSTGRES_INFO;
#else
  return "postgres_test_server.info";
#endif
}

PostgresServer& PostgresServer::shared() {
  static std::unique_ptr<PostgresServer> server = [] {
    const std::string text = readFile(fixtureInfoPath());
    if (!text.empty()) return attach(PostgresConnectionInfo::parse(text));
    return start();
  }();
  return *server;
}

PostgresServer::~PostgresServer() {
  if (!owned_) return;
  try {
    stopServer();
  } catch (const std::exception&) {
    // Best effort: the directory goes anyway.
  }
  std::error_code ec;
  fs::remove_all(info_.directory, ec);
}

void PostgresServer::startServer() {
  const std::string log = info_.directory + "/setup.log";
  if (runAsServerUser(std::string(kBin) + "pg_ctl -D " + info_.directory + "/data -l " +
                          info_.directory + "/server.log -w -t 60 start",
                      log) != 0) {
    fail("pg_ctl start failed:\n" + logTail());
  }
}

void PostgresServer::stopServer() {
  const std::string log = info_.directory + "/setup.log";
  if (runAsServerUser(
          std::string(kBin) + "pg_ctl -D " + info_.directory + "/data -m immediate -w stop", log) !=
      0) {
    fail("pg_ctl stop failed:\n" + logTail());
  }
}

std::string PostgresServer::logTail(std::size_t lines) const {
  return tailOf(
      readFile(info_.directory + "/setup.log") + readFile(info_.directory + "/server.log"), lines);
}

void PostgresServer::createDatabase(const std::string& name) {
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      fail("database name '" + name + "' must be [a-z0-9_]");
  }
  adminQuery("postgres", "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  adminQuery("postgres", "CREATE DATABASE " + name + " OWNER " + info_.appUser);
}

std::string PostgresServer::appUrl(const std::string& database) const {
  return "postgresql://" + info_.appUser + "@/" + database + "?host=" + info_.socketDir +
         "&port=" + std::to_string(info_.port);
}

std::string PostgresServer::appUrlWithPassword(const std::string& database) const {
  return "postgresql://" + info_.appUser + ":" + info_.appPassword + "@/" + database +
         "?host=" + info_.socketDir + "&port=" + std::to_string(info_.port);
}

std::string PostgresServer::adminUrl(const std::string& database) const {
  return "postgresql://postgres@/" + database + "?host=" + info_.socketDir +
         "&port=" + std::to_string(info_.port);
}

std::vector<std::string> PostgresServer::adminQuery(const std::string& database,
                                                    const std::string& sql) const {
  PGconn* conn = PQconnectdb(adminUrl(database).c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    fail("cannot connect as postgres: " + message + "\n" + logTail());
  }
  PGresult* result = PQexec(conn, sql.c_str());
  const auto status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const std::string message = PQresultErrorMessage(result);
    PQclear(result);
    PQfinish(conn);
    fail("'" + sql + "' failed: " + message);
  }
  std::vector<std::string> rows;
  for (int row = 0; row < PQntuples(result); ++row) rows.emplace_back(PQgetvalue(result, row, 0));
  PQclear(result);
  PQfinish(conn);
  return rows;
}

}  // namespace orders::testing
