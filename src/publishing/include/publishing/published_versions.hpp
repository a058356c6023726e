#pragma once
// Which version(s) of each message type the Order Service publishes. By default every type at
// kOrderEventDefaultVersion ("1.0"), its current major. During a migration to a new major a type
// is published at both majors (`--publish-versions OrderCreatedEvent=1.0,2.0`): the EventFactory
// renders every domain event of that type once per version, and the rows go to the outbox in the
// same transaction as the change (docs/events/versioning.md, "Two major versions side by side").

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace orders {

/// One version the EventFactory can render.
struct RenderableVersion {
  std::string_view messageType;
  std::string_view version;  // "1.0", "2.0"
};

/// Every (messageType, version) this build renders: each of kOrderEventTypes at "1.0" and each
/// of kOrderEventNewerMajors at its version. In kOrderEventTypes order, then the newer majors.
const std::vector<RenderableVersion>& renderableVersions();

/// Immutable after parse(); any thread may read it.
class PublishedVersions {
 public:
  /// Every type at kOrderEventDefaultVersion.
  PublishedVersions();

  /// The defaults, changed by each entry "MessageType=V[,V...]" ("OrderCreatedEvent=1.0,2.0");
  /// an entry may also hold several of these separated by ';' (the form of the environment
  /// variable). kInvalidArgument with `field` in Error::field, naming the entry and what is wrong:
  /// no '=', an unknown message type, a type listed twice, no version, a version that is not
  /// "<major>.<minor>" or that this build cannot render (the message lists the ones it can), or
  /// two versions of the same major.
  static Result<PublishedVersions> parse(const std::vector<std::string>& entries,
                                         std::string_view field = "--publish-versions");

  /// The versions of `messageType` in ascending order (never empty for a published type; empty
  /// for a type this service does not publish).
  const std::vector<std::string>& of(std::string_view messageType) const;

  /// True when `messageType` is published at a major newer than `major` too.
  bool supersedes(std::string_view messageType, int major) const;

  /// The entries that differ from the defaults, "OrderCreatedEvent=1.0,2.0", separated by "; ";
  /// "" when everything is at the default. For the start-up log.
  std::string describeChanges() const;

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> versions_;
};

}  // namespace orders
