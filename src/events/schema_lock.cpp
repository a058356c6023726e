#include "events/schema_lock.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace orders {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kHexDigits = 64;

bool isLowerHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kInvalidArgument, path + ": cannot be read", path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<std::string> sha256OfFile(const std::string& path) {
  auto bytes = readFile(path);
  if (!bytes) return std::move(bytes).takeError();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes->data(), bytes->size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return Error{ErrorCode::kInternal, path + ": SHA-256 failed", path};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * static_cast<std::size_t>(length));
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

Result<std::vector<SchemaLockEntry>> parseSchemaLock(std::string_view text) {
  std::vector<SchemaLockEntry> entries;
  std::map<std::string, std::size_t> lineOf;
  std::size_t lineNumber = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++lineNumber;
    const std::string where = std::string(kSchemaLockFile) + " line " + std::to_string(lineNumber);
    // "<hash>  <file>": sha256sum's text mode separator is two spaces ("<hash> *<file>" is its
    // binary mode, the same bytes on Linux).
    if (line.size() < kHexDigits + 3 || !isLowerHex(line.substr(0, kHexDigits)) ||
        line[kHexDigits] != ' ' || (line[kHexDigits + 1] != ' ' && line[kHexDigits + 1] != '*')) {
      return Error{ErrorCode::kInvalidArgument,
                   where + ": expected '<64 lowercase hex digits>  <file>' (sha256sum's format)",
                   kSchemaLockFile};
    }
    SchemaLockEntry entry{std::string(line.substr(0, kHexDigits)),
                          std::string(line.substr(kHexDigits + 2))};
    if (const auto seen = lineOf.find(entry.file); seen != lineOf.end()) {
      return Error{ErrorCode::kInvalidArgument,
                   where + ": " + entry.file + " is listed again (also on line " +
                       std::to_string(seen->second) + ")",
                   kSchemaLockFile};
    }
    lineOf[entry.file] = lineNumber;
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::string formatSchemaLock(std::vector<SchemaLockEntry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const SchemaLockEntry& a, const SchemaLockEntry& b) { return a.file < b.file; });
  std::string text;
  for (const auto& e : entries) text += e.sha256 + "  " + e.file + "\n";
  return text;
}

Result<std::vector<SchemaLockEntry>> readSchemaLock(const std::string& directory, bool* sorted) {
  const std::string path = (fs::path(directory) / kSchemaLockFile).string();
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return Error{ErrorCode::kNotFound, path + " does not exist", kSchemaLockFile};
  }
  auto text = readFile(path);
  if (!text) return std::move(text).takeError();
  auto entries = parseSchemaLock(*text);
  if (entries && sorted != nullptr) {
    *sorted = std::is_sorted(
        entries->begin(), entries->end(),
        [](const SchemaLockEntry& a, const SchemaLockEntry& b) { return a.file < b.file; });
  }
  return entries;
}

Result<std::vector<SchemaLockProblem>> verifySchemaLock(const std::string& directory,
                                                        const std::vector<SchemaFile>& files,
                                                        const std::vector<SchemaLockEntry>& lock,
                                                        bool lockWasSorted) {
  std::map<std::string, const SchemaLockEntry*> locked;
  for (const auto& entry : lock) locked[entry.file] = &entry;
  std::vector<SchemaLockProblem> problems;
  for (const auto& file : files) {
    auto hash = sha256OfFile((fs::path(directory) / file.file).string());
    if (!hash) return std::move(hash).takeError();
    const auto it = locked.find(file.file);
    if (it == locked.end()) {
      problems.push_back(
          {SchemaLockProblem::Kind::kNotLocked, file.file,
           file.file + " is not in " + kSchemaLockFile +
               ": a new schema file is published by adding it to the lock (`order-events schema "
               "lock <schema directory>`, see schemas/README.md)"});
      continue;
    }
    if (it->second->sha256 != *hash) {
      problems.push_back(
          {SchemaLockProblem::Kind::kEdited, file.file,
           file.file + " was changed after it was published (sha256 " + *hash + ", " +
               kSchemaLockFile + " has " + it->second->sha256 +
               "): a published schema is never edited; put the change in a new version file"});
    }
    locked.erase(it);
  }
  for (const auto& [file, entry] : locked) {
    problems.push_back({SchemaLockProblem::Kind::kDeleted, file,
                        file + " is in " + kSchemaLockFile +
                            " but does not exist: a published schema is never removed"});
  }
  if (!lockWasSorted) {
    problems.push_back({SchemaLockProblem::Kind::kUnsorted, kSchemaLockFile,
                        std::string(kSchemaLockFile) +
                            " is not sorted by file (`order-events schema lock` rewrites it "
                            "sorted)"});
  }
  return problems;
}

}  // namespace orders
