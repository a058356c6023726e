#include "broker/rabbitmq/amqp/connection_settings.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
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
  // Each value may itself be a comma-separated list (the environment variable has one value).
  std::vector<std::string> entries;
  for (const auto& value : settings.urls) {
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = value.find(',', start);
      entries.push_back(value.substr(start, comma == std::string::npos ? comma : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (entries.empty()) return invalid(urlName, urlName + ": no broker given");
  std::optional<AmqpUrl> url;  // the first broker: the TLS checks below look at it
  for (std::size_t i = 0; i < entries.size(); ++i) {
    // Spaces after commas ("a, b") are a list's natural spelling; a URL never holds one.
    std::string& entry = entries[i];
    entry.erase(0, entry.find_first_not_of(" \t"));
    entry.erase(entry.find_last_not_of(" \t") + 1);
    const std::string which = entries.size() == 1 ? urlName
                                                  : urlName + " entry " + std::to_string(i + 1) +
                                                        " of " + std::to_string(entries.size());
    if (entry.empty()) return invalid(urlName, which + " is empty (a stray comma?)");
    auto parsed = AmqpUrl::parse(entry);
    if (!parsed) return invalid(urlName, which + ": " + parsed.error().message);
    if (url && parsed->tls != url->tls)
      return invalid(urlName, which + " (" + parsed->redacted() + ") is " +
                                  (parsed->tls ? "amqps://" : "amqp://") + " but entry 1 (" +
                                  url->redacted() + ") is " + (url->tls ? "amqps://" : "amqp://") +
                                  "; the nodes of one cluster share their TLS settings");
    if (!url) url = std::move(parsed).value();
  }

  RabbitConnectionOptions options;
  options.url = entries.front();
  options.failoverUrls.assign(entries.begin() + 1, entries.end());
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
  std::vector<std::string> texts{options.url};
  texts.insert(texts.end(), options.failoverUrls.begin(), options.failoverUrls.end());
  for (const auto& text : texts) {
    auto broker = AmqpUrl::parse(text);
    if (broker && !broker->tls && !broker->loopback()) {
      warnings.push_back("the broker at " + broker->redacted() +
                         " is reached over plain amqp:// (no TLS): the password and every event "
                         "cross the network unencrypted; use amqps:// (port 5671)");
    }
  }
  auto url = AmqpUrl::parse(options.url);
  if (!url) return warnings;  // resolveConnectionSettings reports it
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
