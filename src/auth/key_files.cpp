#include "auth/key_files.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace orders::auth {

Result<std::string> readKeyFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Error{ErrorCode::kInvalidArgument, "cannot read " + path};
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) return Error{ErrorCode::kInvalidArgument, "cannot read " + path};
  return text.str();
}

ReloadingKeySet::FileStamp ReloadingKeySet::stampOf(const std::string& path) {
  struct stat info {};
  if (path.empty() || ::stat(path.c_str(), &info) != 0) return {};
  return FileStamp{
      static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL + info.st_mtim.tv_nsec,
      static_cast<long long>(info.st_size), static_cast<unsigned long long>(info.st_ino)};
}

Result<std::shared_ptr<const KeySet>> ReloadingKeySet::load(FileStamp& jwks,
                                                            FileStamp& secret) const {
  KeySet set;
  if (!files_.jwksFile.empty()) {
    jwks = stampOf(files_.jwksFile);  // before reading: a change while reading is seen next time
    auto text = readKeyFile(files_.jwksFile);
    if (!text) return text.error();
    std::vector<std::string> skipped;
    auto parsed = KeySet::fromJwks(*text, &skipped);
    if (!parsed) {
      return Error{ErrorCode::kInvalidArgument, files_.jwksFile + ": " + parsed.error().message};
    }
    for (const auto& note : skipped) spdlog::info("auth: {}: skipped {}", files_.jwksFile, note);
    set = std::move(parsed).value();
  }
  std::optional<std::string> secretValue = files_.hs256Secret;
  std::string secretOrigin = "the HS256 secret of the environment";
  if (!files_.hs256SecretFile.empty()) {
    secret = stampOf(files_.hs256SecretFile);
    auto text = readKeyFile(files_.hs256SecretFile);
    if (!text) return text.error();
    if (text->ends_with("\n")) text->pop_back();
    if (text->ends_with("\r")) text->pop_back();
    secretValue = std::move(text).value();
    secretOrigin = files_.hs256SecretFile;
  }
  if (secretValue) {
    auto key = VerificationKey::hmac("", std::move(*secretValue));
    if (!key) return Error{ErrorCode::kInvalidArgument, secretOrigin + ": " + key.error().message};
    if (auto added = set.add(std::move(key).value()); !added) {
      return Error{ErrorCode::kInvalidArgument,
                   secretOrigin + ": " + added.error().message +
                       " (a JWKS key without kid and the HS256 secret cannot both be used)"};
    }
  }
  if (set.size() == 0) {
    return Error{ErrorCode::kInvalidArgument,
                 "no verification keys: give a JWKS file or an HS256 secret"};
  }
  return std::make_shared<const KeySet>(std::move(set));
}

Result<std::unique_ptr<ReloadingKeySet>> ReloadingKeySet::open(KeyFiles files, const Clock& clock) {
  std::unique_ptr<ReloadingKeySet> keys(new ReloadingKeySet(std::move(files), clock));
  auto loaded = keys->load(keys->jwksStamp_, keys->secretStamp_);
  if (!loaded) return loaded.error();
  keys->keys_ = std::move(loaded).value();
  keys->lastLook_ = clock.steadyNow();
  return keys;
}

Status ReloadingKeySet::reloadLocked() {
  FileStamp jwks;
  FileStamp secret;
  auto loaded = load(jwks, secret);
  // Remember the stamps either way: a bad file is reported once, not on every poll, and a fixed
  // one (a new stamp) is picked up.
  jwksStamp_ = jwks;
  secretStamp_ = secret;
  if (!loaded) {
    lastError_ = loaded.error().message;
    spdlog::error("auth: reloading the keys failed, the previous keys stay in force: {}",
                  lastError_);
    return loaded.error();
  }
  keys_ = std::move(loaded).value();
  ++reloads_;
  lastError_.clear();
  spdlog::info("auth: keys reloaded ({} keys)", keys_->size());
  return okStatus();
}

Status ReloadingKeySet::reload() {
  std::lock_guard lock(mutex_);
  lastLook_ = clock_.steadyNow();
  return reloadLocked();
}

std::shared_ptr<const KeySet> ReloadingKeySet::current() {
  std::lock_guard lock(mutex_);
  const SteadyTime now = clock_.steadyNow();
  if (now - lastLook_ >= files_.pollInterval) {
    lastLook_ = now;
    const bool changed =
        (!files_.jwksFile.empty() && stampOf(files_.jwksFile) != jwksStamp_) ||
        (!files_.hs256SecretFile.empty() && stampOf(files_.hs256SecretFile) != secretStamp_);
    if (changed) (void)reloadLocked();  // a failure is logged and kept in lastError_
  }
  return keys_;
}

std::size_t ReloadingKeySet::reloadCount() const {
  std::lock_guard lock(mutex_);
  return reloads_;
}

std::string ReloadingKeySet::lastError() const {
  std::lock_guard lock(mutex_);
  return lastError_;
}

}  // namespace orders::auth
