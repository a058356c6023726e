#include "publishing/published_versions.hpp"

#include <algorithm>
#include <set>

#include "events/order_event_types.hpp"
#include "events/schema_catalog.hpp"

namespace orders {
namespace {

std::string trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  const auto last = text.find_last_not_of(" \t");
  return std::string(text.substr(first, last - first + 1));
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto end = text.find(separator, start);
    parts.push_back(trimmed(text.substr(start, end - start)));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::string renderableOf(std::string_view type) {
  std::string list;
  for (const auto& r : renderableVersions()) {
    if (r.messageType == type) list += (list.empty() ? "" : ", ") + std::string(r.version);
  }
  return list;
}

}  // namespace

const std::vector<RenderableVersion>& renderableVersions() {
  static const std::vector<RenderableVersion> all = [] {
    std::vector<RenderableVersion> list;
    list.reserve(kOrderEventTypes.size() + kOrderEventNewerMajors.size());
    for (const auto type : kOrderEventTypes) list.push_back({type, kOrderEventDefaultVersion});
    for (const auto& newer : kOrderEventNewerMajors)
      list.push_back({newer.messageType, newer.version});
    return list;
  }();
  return all;
}

PublishedVersions::PublishedVersions() {
  for (const auto type : kOrderEventTypes)
    versions_.emplace(std::string(type),
                      std::vector<std::string>{std::string(kOrderEventDefaultVersion)});
}

Result<PublishedVersions> PublishedVersions::parse(const std::vector<std::string>& entries,
                                                   std::string_view field) {
  PublishedVersions result;
  std::set<std::string> seen;
  const std::string where(field);
  auto bad = [&](const std::string& entry, const std::string& what) {
    return Error{ErrorCode::kInvalidArgument,
                 where + " '" + entry + "': " + what +
                     " (expected MessageType=MAJOR.MINOR[,MAJOR.MINOR...], e.g. "
                     "OrderCreatedEvent=1.0,2.0)",
                 where};
  };
  for (const auto& group : entries) {
    for (const auto& entry : split(group, ';')) {
      if (entry.empty()) continue;
      const auto equals = entry.find('=');
      if (equals == std::string::npos) return bad(entry, "no '='");
      const std::string type = trimmed(std::string_view(entry).substr(0, equals));
      auto known = result.versions_.find(type);
      if (known == result.versions_.end()) {
        return bad(entry, "unknown message type '" + type + "'");
      }
      if (!seen.insert(type).second) return bad(entry, type + " is listed twice");
      std::vector<std::string> versions;
      std::set<int> majors;
      std::vector<SchemaVersion> parsed;
      for (const auto& text : split(std::string_view(entry).substr(equals + 1), ',')) {
        if (text.empty()) return bad(entry, "an empty version");
        auto version = parseSchemaVersion(text);
        if (!version) return bad(entry, "'" + text + "' is not MAJOR.MINOR");
        const auto& renderable = renderableVersions();
        const bool canRender = std::any_of(
            renderable.begin(), renderable.end(),
            [&](const RenderableVersion& r) { return r.messageType == type && r.version == text; });
        if (!canRender) {
          return bad(entry, type + " " + text +
                                " is not a version this build renders (it "
                                "renders " +
                                renderableOf(type) + ")");
        }
        if (!majors.insert(version->major).second) {
          return bad(entry, "two versions of major " + std::to_string(version->major) +
                                " (a major is published at one version)");
        }
        parsed.push_back(*version);
      }
      std::sort(parsed.begin(), parsed.end());
      versions.reserve(parsed.size());
      for (const auto& v : parsed) versions.push_back(v.text());
      known->second = std::move(versions);
    }
  }
  return result;
}

const std::vector<std::string>& PublishedVersions::of(std::string_view messageType) const {
  static const std::vector<std::string> none;
  const auto found = versions_.find(messageType);
  return found == versions_.end() ? none : found->second;
}

bool PublishedVersions::supersedes(std::string_view messageType, int major) const {
  for (const auto& text : of(messageType)) {
    auto version = parseSchemaVersion(text);
    if (version && version->major > major) return true;
  }
  return false;
}

std::string PublishedVersions::describeChanges() const {
  std::string out;
  for (const auto& [type, versions] : versions_) {
    if (versions.size() == 1 && versions.front() == kOrderEventDefaultVersion) continue;
    std::string list;
    for (const auto& v : versions) list += (list.empty() ? "" : ",") + v;
    out += (out.empty() ? "" : "; ") + type + "=" + list;
  }
  return out;
}

}  // namespace orders
