#include "support/rabbitmq_server.hpp"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace orders::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kServerScript = "/usr/lib/rabbitmq/bin/rabbitmq-server";
constexpr const char* kCtlScript = "/usr/lib/rabbitmq/bin/rabbitmqctl";

std::atomic<int> serverCounter{0};

[[noreturn]] void fail(const std::string& message) {
  throw std::runtime_error("RabbitMqServer: " + message);
}

/// A port that was free a moment ago: bind port 0 and read what the kernel chose. Another
/// process could take it before the broker binds it; the window is tiny and a clash shows up as
/// a clear boot failure (eaddrinuse in the log).
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail(std::string("socket(): ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    fail(std::string("bind(0): ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

void writeFile(const fs::path& path, const std::string& content, mode_t mode = 0644) {
  {
    std::ofstream out(path, std::ios::trunc);
    if (!out) fail("cannot write " + path.string());
    out << content;
  }
  ::chmod(path.c_str(), mode);
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
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

std::string randomCookie() {
  std::random_device rd;
  std::uniform_int_distribution<int> letter('A', 'Z');
  std::string cookie;
  for (int i = 0; i < 20; ++i) cookie += static_cast<char>(letter(rd));
  return cookie;
}

/// One AMQP login attempt with a short timeout; true when the broker accepted it.
bool canLogin(int port) {
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  bool ok = false;
  timeval timeout{1, 0};
  if (socket != nullptr && amqp_socket_open_noblock(socket, "127.0.0.1", port, &timeout) == 0) {
    amqp_set_handshake_timeout(conn, &timeout);
    amqp_set_rpc_timeout(conn, &timeout);
    amqp_rpc_reply_t reply =
        amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest");
    ok = reply.reply_type == AMQP_RESPONSE_NORMAL;
    if (ok) amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(conn);
  return ok;
}

bool processExists(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

/// The Erlang VM's OS pid (a grandchild of ours), from the pid file the broker writes at boot.
pid_t beamPid(const std::string& dir) {
  std::string text = readFile(fs::path(dir) / "rabbitmq.pid");
  return text.empty() ? -1 : static_cast<pid_t>(std::atol(text.c_str()));
}

std::string tempRoot() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

/// Brokers of test processes that died without cleaning up (crash, SIGKILL by a ctest timeout):
/// their directory records the owner's pid. Kill their VM (only if its command line really names
/// that directory, so a recycled pid is never hit) and remove the directory.
void reapOrphans() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(tempRoot(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("rmqtest-", 0) != 0 || !entry.is_directory(ec)) continue;
    const std::string owner = readFile(entry.path() / "owner.pid");
    if (owner.empty()) continue;
    const pid_t ownerPid = static_cast<pid_t>(std::atol(owner.c_str()));
    if (processExists(ownerPid)) continue;
    const pid_t beam = beamPid(entry.path().string());
    if (beam > 0) {
      const std::string cmdline = readFile("/proc/" + std::to_string(beam) + "/cmdline");
      if (cmdline.find(entry.path().string()) != std::string::npos) ::kill(beam, SIGKILL);
    }
    fs::remove_all(entry.path(), ec);
  }
}

}  // namespace

RabbitMqServer::RabbitMqServer(RabbitMqServerOptions options) : options_(std::move(options)) {}

std::unique_ptr<RabbitMqServer> RabbitMqServer::start(RabbitMqServerOptions options) {
  auto server = create(std::move(options));
  server->startAgain();
  return server;
}

std::unique_ptr<RabbitMqServer> RabbitMqServer::create(RabbitMqServerOptions options) {
  std::unique_ptr<RabbitMqServer> server(new RabbitMqServer(std::move(options)));
  server->prepareDirectory();
  return server;
}

std::unique_ptr<RabbitMqServer> RabbitMqServer::attach(const std::string& directory) {
  std::istringstream description(readFile(fs::path(directory) / "node.txt"));
  RabbitMqServerOptions options;
  options.outliveProcess = true;
  std::unique_ptr<RabbitMqServer> server(new RabbitMqServer(options));
  server->dir_ = directory;
  std::string line;
  while (std::getline(description, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    const std::string value = line.substr(eq + 1);
    if (key == "node") server->nodeName_ = value;
    if (key == "port") server->port_ = std::atoi(value.c_str());
    if (key == "dist_port") server->distPort_ = std::atoi(value.c_str());
    if (key == "erl_args") server->options_.erlArgs = value;
  }
  if (server->nodeName_.empty() || server->port_ == 0)
    fail("no broker described in " + directory + "/node.txt");
  const pid_t beam = beamPid(directory);
  server->child_ = false;
  // Only a VM whose command line names this directory: a recycled pid is never taken for it.
  const bool alive =
      processExists(beam) &&
      readFile("/proc/" + std::to_string(beam) + "/cmdline").find(directory) != std::string::npos;
  server->pid_ = alive ? beam : -1;
  return server;
}

RabbitMqServer& RabbitMqServer::shared() {
  // Destroyed by static destruction at exit, which kills the broker and removes its directory.
  static std::unique_ptr<RabbitMqServer> server = start();
  return *server;
}

RabbitMqServer::~RabbitMqServer() {
  if (options_.outliveProcess) return;  // the fixture's cleanup stops it
  try {
    if (paused_) resume();
    if (running()) kill();
  } catch (const std::exception&) {
    // A destructor must not throw; the process group was signalled, nothing more we can do.
  }
  const char* keep = std::getenv("ORDER_TEST_KEEP_BROKER_DIR");
  if (!dir_.empty() && !options_.keepDirectory && !(keep != nullptr && std::string(keep) == "1")) {
    std::error_code ignored;  // best effort: a leftover temp dir is harmless
    fs::remove_all(dir_, ignored);
  }
}

void RabbitMqServer::prepareDirectory() {
  reapOrphans();
  std::string pattern =
      tempRoot() + (options_.outliveProcess ? "/rmqfixture-XXXXXX" : "/rmqtest-XXXXXX");
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr)
    fail("mkdtemp failed: " + std::string(std::strerror(errno)));
  dir_ = buf.data();
  const fs::path dir(dir_);
  fs::create_directories(dir / "home");
  fs::create_directories(dir / "mnesia");
  fs::create_directories(dir / "log");
  if (!options_.outliveProcess) writeFile(dir / "owner.pid", std::to_string(::getpid()));

  nodeName_ = !options_.nodeName.empty() ? options_.nodeName
                                         : "rmqtest-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(serverCounter++) + "@localhost";
  port_ = freePort();
  do {
    distPort_ = freePort();
  } while (distPort_ == port_);
  if (options_.management) {
    do {
      managementPort_ = freePort();
    } while (managementPort_ == port_ || managementPort_ == distPort_);
  }

  if (options_.tls) {
    do {
      tlsPort_ = freePort();
    } while (tlsPort_ == port_ || tlsPort_ == distPort_ || tlsPort_ == managementPort_);
  }

  // The Erlang cookie lives in HOME; Erlang refuses a cookie file others can read.
  writeFile(dir / "home" / ".erlang.cookie",
            options_.cookie.empty() ? randomCookie() : options_.cookie, 0400);
  // What attach() needs to drive this broker from another process.
  writeFile(dir / "node.txt", "node=" + nodeName_ + "\nport=" + std::to_string(port_) +
                                  "\ndist_port=" + std::to_string(distPort_) +
                                  "\nerl_args=" + options_.erlArgs + "\n");

  std::string conf =
      "loopback_users = none\n"
      "listeners.tcp.default = 127.0.0.1:" +
      std::to_string(port_) +
      "\n"
      "log.file.level = info\n"
      "log.console = false\n";
  if (options_.management) {
    conf +=
        "management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = " + std::to_string(managementPort_) +
        "\n";
  }
  if (options_.tls) {
    const RabbitMqTlsOptions& tls = *options_.tls;
    conf += "listeners.ssl.default = 127.0.0.1:" + std::to_string(tlsPort_) +
            "\n"
            "ssl_options.cacertfile = " +
            tls.caFile + "\nssl_options.certfile = " + tls.certFile +
            "\nssl_options.keyfile = " + tls.keyFile + "\n" +
            (tls.requireClientCertificate
                 ? "ssl_options.verify = verify_peer\nssl_options.fail_if_no_peer_cert = true\n"
                 : "ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n") +
            // Erlang/OTP 25 offers TLS 1.3 only when asked for it.
            "ssl_options.versions.1 = tlsv1.3\nssl_options.versions.2 = tlsv1.2\n";
  }
  for (const auto& line : options_.extraConfig) conf += line + "\n";
  writeFile(dir / "rabbitmq.conf", conf);
  writeFile(dir / "enabled_plugins", options_.management ? "[rabbitmq_management].\n" : "[].\n");
  writeFile(dir / "rabbitmq-env.conf", "");  // keeps /etc/rabbitmq/rabbitmq-env.conf out
}

std::vector<std::string> RabbitMqServer::environment() const {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    // The broker's settings come only from us, never from the caller's environment.
    if (entry.rfind("RABBITMQ_", 0) == 0 || entry.rfind("HOME=", 0) == 0 ||
        entry.rfind("ERL_", 0) == 0)
      continue;
    env.push_back(std::move(entry));
  }
  const fs::path dir(dir_);
  env.push_back("HOME=" + (dir / "home").string());
  env.push_back("RABBITMQ_NODENAME=" + nodeName_);
  env.push_back("RABBITMQ_NODE_IP_ADDRESS=127.0.0.1");
  env.push_back("RABBITMQ_NODE_PORT=" + std::to_string(port_));
  env.push_back("RABBITMQ_DIST_PORT=" + std::to_string(distPort_));
  env.push_back("RABBITMQ_MNESIA_BASE=" + (dir / "mnesia").string());
  env.push_back("RABBITMQ_LOG_BASE=" + (dir / "log").string());
  env.push_back("RABBITMQ_LOGS=" + (dir / "log" / "rabbit.log").string());
  env.push_back("RABBITMQ_CONFIG_FILE=" + (dir / "rabbitmq.conf").string());
  env.push_back("RABBITMQ_ADVANCED_CONFIG_FILE=" + (dir / "advanced.config").string());
  env.push_back("RABBITMQ_CONF_ENV_FILE=" + (dir / "rabbitmq-env.conf").string());
  env.push_back("RABBITMQ_ENABLED_PLUGINS_FILE=" + (dir / "enabled_plugins").string());
  env.push_back("RABBITMQ_PID_FILE=" + (dir / "rabbitmq.pid").string());
  if (!options_.erlArgs.empty())
    env.push_back("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=" + options_.erlArgs);
  return env;
}

namespace {

/// posix_spawn with its own process group and stdout/stderr appended to `logPath`.
pid_t spawnWithEnv(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                   const std::string& logPath, bool newGroup) {
  std::vector<char*> argvp;
  for (const auto& a : argv) argvp.push_back(const_cast<char*>(a.c_str()));
  argvp.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (newGroup) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGCHLD);
  posix_spawnattr_setsigdefault(&attr, &defaults);

  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0].c_str(), &actions, &attr, argvp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) fail("cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

}  // namespace

void RabbitMqServer::launch() {
  std::error_code ignored;  // a stale pid file from the previous run must not be mistaken
  fs::remove(fs::path(dir_) / "rabbitmq.pid", ignored);
  pid_ = spawnWithEnv({kServerScript}, environment(), (fs::path(dir_) / "stdout.log").string(),
                      /*newGroup=*/true);
  child_ = true;
}

pid_t RabbitMqServer::processGroup() const {
  if (child_) return pid_;
  const pid_t group = ::getpgid(pid_);
  // Never our own group (a broker always runs in a group of its own).
  return group > 0 && group != ::getpgrp() ? group : -1;
}

void RabbitMqServer::startAgain() {
  launchInBackground();
  waitUntilStarted();
}

void RabbitMqServer::launchInBackground() {
  if (running()) fail("starting " + nodeName_ + " while it is running");
  launchedAt_ = Clock::now();
  launch();
}

void RabbitMqServer::waitUntilStarted() {
  waitUntilReady();
  bootTime_ = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - launchedAt_);
}

void RabbitMqServer::waitUntilReady() {
  const auto deadline = Clock::now() + options_.startTimeout;
  while (true) {
    int status = 0;
    pid_t r = child_ ? ::waitpid(pid_, &status, WNOHANG) : 0;
    if (r == pid_) {
      pid_ = -1;
      fail("broker " + nodeName_ + " exited during boot (status " + std::to_string(status) +
           "); log tail:\n" + logTail());
    }
    if (canLogin(port_)) return;
    if (Clock::now() > deadline) {
      std::string tail = logTail();
      kill();
      fail("broker " + nodeName_ + " did not accept an AMQP login on port " +
           std::to_string(port_) + " within " + std::to_string(options_.startTimeout.count()) +
           " ms; log tail:\n" + tail);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void RabbitMqServer::waitForExit(std::chrono::milliseconds timeout) {
  const pid_t beam = beamPid(dir_);
  const auto deadline = Clock::now() + timeout;
  while (pid_ > 0 && !child_) {
    if (!processExists(pid_)) {
      pid_ = -1;
      break;
    }
    if (Clock::now() > deadline) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  while (pid_ > 0) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      pid_ = -1;
      break;
    }
    if (Clock::now() > deadline) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // The VM is a grandchild; wait for it too so the port is free before a restart.
  while (processExists(beam) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void RabbitMqServer::stop() {
  if (!running()) return;
  if (paused_) resume();
  if (const pid_t group = processGroup(); group > 0) ::kill(-group, SIGTERM);
  if (!child_) ::kill(pid_, SIGTERM);
  waitForExit(std::chrono::seconds(30));
  if (running() || processExists(beamPid(dir_))) kill();
}

void RabbitMqServer::kill() {
  if (!running()) return;
  const pid_t beam = beamPid(dir_);
  if (const pid_t group = processGroup(); group > 0) ::kill(-group, SIGKILL);
  if (beam > 0) ::kill(beam, SIGKILL);  // in case it left the group
  paused_ = false;
  waitForExit(std::chrono::seconds(30));
  if (running()) fail("broker " + nodeName_ + " survived SIGKILL");
}

void RabbitMqServer::restart() {
  stop();
  startAgain();
}

void RabbitMqServer::pause() {
  if (!running() || paused_) return;
  if (const pid_t group = processGroup(); group > 0) ::kill(-group, SIGSTOP);
  paused_ = true;
}

void RabbitMqServer::resume() {
  if (!paused_) return;
  if (const pid_t group = pid_ > 0 ? processGroup() : -1; group > 0) ::kill(-group, SIGCONT);
  paused_ = false;
}

std::string RabbitMqServer::amqpUrl() const {
  return "amqp://guest:guest@127.0.0.1:" + std::to_string(port_) + "/%2F";
}

std::string RabbitMqServer::amqpsUrl() const {
  return "amqps://guest:guest@localhost:" + std::to_string(tlsPort_) + "/%2F";
}

int RabbitMqServer::rabbitmqctl(const std::vector<std::string>& args, std::string* output) const {
  std::vector<std::string> argv = {kCtlScript, "-n", nodeName_};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string outPath =
      (fs::path(dir_) / ("ctl-" + std::to_string(serverCounter++) + ".out")).string();
  pid_t pid = spawnWithEnv(argv, environment(), outPath, /*newGroup=*/false);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (output != nullptr) *output = readFile(outPath);
  std::error_code ignored;  // only a scratch file
  fs::remove(outPath, ignored);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string RabbitMqServer::logTail(std::size_t lines) const {
  std::string text = readFile(fs::path(dir_) / "log" / "rabbit.log");
  std::string out = readFile(fs::path(dir_) / "stdout.log");
  return "--- " + dir_ + "/log/rabbit.log\n" + tailOf(text, lines) + "--- stdout\n" +
         tailOf(out, lines / 2);
}

}  // namespace orders::testing
