#include "events/schema_catalog.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <optional>

namespace orders {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kEnvelopeFolder = "envelope";
constexpr std::string_view kEnvelopePrefix = "StandardMessage.v";
constexpr const char* kLayout =
    "schemas are <folder>/<MessageType>/<major>.<minor>.json or "
    "envelope/StandardMessage.v<major>.json (see schemas/README.md)";

std::optional<int> parseNumber(std::string_view text) {
  if (text.empty() || text.size() > 6) return std::nullopt;
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

bool isTypeName(std::string_view name) {
  if (name.empty() || !std::isalpha(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

Error misplaced(const std::string& relative) {
  return Error{ErrorCode::kInvalidArgument,
               "schema " + relative + ": misplaced or misnamed: " + std::string(kLayout), relative};
}

}  // namespace

Result<SchemaVersion> parseSchemaVersion(std::string_view text) {
  const auto dot = text.find('.');
  if (dot != std::string_view::npos) {
    const auto major = parseNumber(text.substr(0, dot));
    const auto minor = parseNumber(text.substr(dot + 1));
    if (major && minor) return SchemaVersion{*major, *minor};
  }
  return Error{ErrorCode::kInvalidArgument,
               "'" + std::string(text) + "' is not a <major>.<minor> version", std::string(text)};
}

Result<std::vector<SchemaFile>> listSchemaFiles(const std::string& directory) {
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) {
    return Error{ErrorCode::kInvalidArgument,
                 "schema directory " + directory + " does not exist or is not a directory",
                 directory};
  }
  std::vector<fs::path> paths;
  for (auto it = fs::recursive_directory_iterator(directory, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name.front() == '.') {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && it->path().extension() == ".json") paths.push_back(it->path());
  }
  if (ec) {
    return Error{ErrorCode::kInvalidArgument,
                 "cannot list schema directory " + directory + ": " + ec.message(), directory};
  }

  std::vector<SchemaFile> files;
  files.reserve(paths.size());
  for (const auto& path : paths) {
    SchemaFile file;
    file.file = fs::relative(path, directory).generic_string();
    const std::string stem = path.stem().string();  // "1.0", "StandardMessage.v1"
    const std::string folder = path.parent_path().filename().string();
    const bool inRoot = fs::equivalent(path.parent_path(), directory, ec);
    if (!inRoot && folder == kEnvelopeFolder && stem.rfind(kEnvelopePrefix, 0) == 0) {
      const auto major = parseNumber(std::string_view(stem).substr(kEnvelopePrefix.size()));
      if (!major) return misplaced(file.file);
      file.kind = SchemaFile::Kind::kEnvelope;
      file.messageType = kEnvelopeMessageType;
      file.version = SchemaVersion{*major, 0};
    } else {
      auto version = parseSchemaVersion(stem);
      if (inRoot || !version || !isTypeName(folder)) return misplaced(file.file);
      file.kind = SchemaFile::Kind::kPayload;
      file.messageType = folder;
      file.version = *version;
    }
    files.push_back(std::move(file));
  }
  std::sort(files.begin(), files.end(),
            [](const SchemaFile& a, const SchemaFile& b) { return a.file < b.file; });
  return files;
}

}  // namespace orders
