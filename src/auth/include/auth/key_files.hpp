#pragma once
// The service's verification keys, read from files and reloaded without a restart: a JWKS file
// (the document an identity provider publishes at its jwks_uri: Keycloak, Auth0, Cognito) and/or
// an HS256 secret (a file, or a value from the environment). A reload happens when reload() is
// called (the service calls it on SIGHUP) and when a file's modification time, size or inode
// changed, checked at most once per poll interval on the verifying thread. A reload that fails
// (unreadable file, bad JSON, no usable key) keeps the keys in force and logs the error: a
// half-written file never locks every caller out.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "auth/jwt_verifier.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace orders::auth {

struct KeyFiles {
  std::string jwksFile{};         // empty: none
  std::string hs256SecretFile{};  // empty: none; one trailing newline is not part of the secret
  std::optional<std::string> hs256Secret{};  // a secret given directly (environment); not reloaded
  std::chrono::milliseconds pollInterval{1000};
};

/// Reads the whole file, or kInvalidArgument naming it.
Result<std::string> readKeyFile(const std::string& path);

/// Thread-safe: current() and reload() may be called from any thread.
class ReloadingKeySet final : public KeyProvider {
 public:
  /// Loads the keys once; an error here is a start-up error (the message names the file).
  static Result<std::unique_ptr<ReloadingKeySet>> open(KeyFiles files, const Clock& clock);

  /// The keys in force; first reloads them if a file changed since the last look (at most once
  /// per poll interval).
  std::shared_ptr<const KeySet> current() override;

  /// Re-reads the files now. On failure the old keys stay in force and the error is returned
  /// (and logged).
  Status reload();

  /// How many reloads replaced the keys, and the last failure ("" if none): for status output.
  std::size_t reloadCount() const;
  std::string lastError() const;

 private:
  struct FileStamp {
    long long mtimeNanos = 0;
    long long size = -1;
    unsigned long long inode = 0;
    bool operator==(const FileStamp&) const = default;
  };
  ReloadingKeySet(KeyFiles files, const Clock& clock) : files_(std::move(files)), clock_(clock) {}
  Result<std::shared_ptr<const KeySet>> load(FileStamp& jwks, FileStamp& secret) const;
  Status reloadLocked();
  static FileStamp stampOf(const std::string& path);

  KeyFiles files_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::shared_ptr<const KeySet> keys_;
  FileStamp jwksStamp_;
  FileStamp secretStamp_;
  SteadyTime lastLook_{};
  std::size_t reloads_ = 0;
  std::string lastError_;
};

}  // namespace orders::auth
