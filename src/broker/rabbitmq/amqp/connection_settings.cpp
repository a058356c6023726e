#include "broker/rabbitmq/amqp/connection_settings.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "broker/rabbitmq/amqp/amqp_url.hpp"

namespace orders {
namespace {

std::string flagAndEnv(const std::string& flag, const std::string& envPrefix,
                       const std::string& envSuffix) {
  return "--" + flag + " / " + envPrefix + envSuffix;
}

/// A readable regular file, or an error naming the flag, the variable and the reason.
Status readable(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) return invalid(what, what + ": cannot read '" + path + "': " + std::strerror(errno));
  return okStatus();
}

}  // namespace

Result<RabbitConnectionOptions> resolveConnectionSettings(const AmqpConnectionSettings& settings,
                                                          const std::string& envPrefix) {
  const std::string urlName = flagAndEnv("amqp-url", envPrefix, "AMQP_URL");
  auto url = AmqpUrl::parse(settings.url);
  if (!url) return invalid(urlName, urlName + ": " + url.error().message);

  RabbitConnectionOptions options;
  options.url = settings.url;
  options.password = settings.password;
  if (!settings.passwordFile.empty()) {
    const std::string name = flagAndEnv("amqp-password-file", envPrefix, "AMQP_PASSWORD_FILE");
    if (settings.password)
      return invalid(name, name + " and " + envPrefix +
                               "AMQP_PASSWORD are both set; give the password one way");
    std::ifstream in(settings.passwordFile);
    if (!in)
      return invalid(
          name, name + ": cannot read '" + settings.passwordFile + "': " + std::strerror(errno));
    std::stringstream content;
    content << in.rdbuf();
    std::string password = content.str();
    // Secrets written with echo or an editor end in a newline that is not part of them.
    if (password.ends_with("\r\n")) {
      password.resize(password.size() - 2);
    } else if (password.ends_with("\n")) {
      password.pop_back();
    }
    if (password.empty()) return invalid(name, name + ": '" + settings.passwordFile + "' is empty");
    options.password = std::move(password);
  }

  const std::string caName = flagAndEnv("amqp-ca-file", envPrefix, "AMQP_CA_FILE");
  const std::string certName = flagAndEnv("amqp-cert-file", envPrefix, "AMQP_CERT_FILE");
  const std::string keyName = flagAndEnv("amqp-key-file", envPrefix, "AMQP_KEY_FILE");
  const std::string insecureName = flagAndEnv("amqp-tls-insecure", envPrefix, "AMQP_TLS_INSECURE");
  const bool anyTls = !settings.caFile.empty() || !settings.certFile.empty() ||
                      !settings.keyFile.empty() || settings.tlsInsecure;
  if (anyTls && !url->tls) {
    const std::string given = !settings.caFile.empty()     ? caName
                              : !settings.certFile.empty() ? certName
                              : !settings.keyFile.empty()  ? keyName
                                                           : insecureName;
    return invalid(given, given + " is a TLS setting, but " + urlName + " (" + url->redacted() +
                              ") is plain amqp://; use amqps:// for TLS");
  }
  if (settings.certFile.empty() != settings.keyFile.empty())
    return invalid(certName,
                   "a client certificate needs its key: give both " + certName + " and " + keyName);
  if (!settings.caFile.empty()) {
    if (auto s = readable(settings.caFile, caName); !s) return s.error();
  }
  if (!settings.certFile.empty()) {
    if (auto s = readable(settings.certFile, certName); !s) return s.error();
    if (auto s = readable(settings.keyFile, keyName); !s) return s.error();
  }
  options.tls.caFile = settings.caFile;
  options.tls.certFile = settings.certFile;
  options.tls.keyFile = settings.keyFile;
  options.tls.verify = !settings.tlsInsecure;
  return options;
}

std::vector<std::string> connectionWarnings(const RabbitConnectionOptions& options) {
  std::vector<std::string> warnings;
  auto url = AmqpUrl::parse(options.url);
  if (!url) return warnings;  // resolveConnectionSettings reports it
  if (!url->tls && !url->loopback()) {
    warnings.push_back("the broker at " + url->redacted() +
                       " is reached over plain amqp:// (no TLS): the password and every event "
                       "cross the network unencrypted; use amqps:// (port 5671)");
  }
  if (url->tls && !options.tls.verify) {
    warnings.push_back(
        "TLS VERIFICATION IS OFF (--amqp-tls-insecure): the broker's certificate at " +
        url->redacted() +
        " is not checked, so anyone on the network path can impersonate it and read the "
        "credentials; never use this outside development");
  }
  return warnings;
}

}  // namespace orders
