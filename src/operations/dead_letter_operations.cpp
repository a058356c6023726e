#include "operations/dead_letter_operations.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <regex>

#include "common/log_fields.hpp"
#include "consumer/consumer_options.hpp"  // deadLetterQueueName

namespace orders::operations {
namespace {

constexpr std::size_t kMaxReasonClass = 160;

std::string hex16(std::uint64_t value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[value & 0xf];
    value >>= 4;
  }
  return out;
}

/// FNV-1a, 64 bits: a stable id for a group key (not a security property).
std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string joined(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
  return out;
}

/// One audit line per message (its messageId as a log field), then a summary.
void audit(const std::string& action, const std::string& actor, const std::string& dlq,
           const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    const ScopedLogFields fields({.messageId = id});
    spdlog::info("audit: {} {} dead-lettered message {} of {}", actor, action, id, dlq);
  }
}

}  // namespace

std::string deadLetterQueueOf(const std::string& queue) {
  return queue.ends_with(".dlq") ? queue : deadLetterQueueName(queue);
}

std::string reasonClassOf(const std::string& reason) {
  static const std::regex kUuid(
      "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  static const std::regex kLongHex("\\b[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\\b");
  static const std::regex kDigits("[0-9]+");
  std::string text = std::regex_replace(reason, kUuid, "<id>");
  // Hex strings of 8 or more characters with letters and digits (hashes, ids): "<id>".
  std::string out;
  std::sregex_iterator it(text.begin(), text.end(), kLongHex), end;
  std::size_t at = 0;
  for (; it != end; ++it) {
    if (it->length() < 8) continue;
    out.append(text, at, static_cast<std::size_t>(it->position()) - at);
    out += "<id>";
    at = static_cast<std::size_t>(it->position() + it->length());
  }
  out.append(text, at, std::string::npos);
  out = std::regex_replace(out, kDigits, "#");
  for (char& c : out)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (out.size() > kMaxReasonClass) out = out.substr(0, kMaxReasonClass) + "...";
  return out;
}

std::vector<FailureGroup> groupByFailure(const std::vector<DeadLetter>& letters) {
  std::map<std::string, FailureGroup> byKey;
  std::vector<std::string> order;
  for (const auto& l : letters) {
    const std::string reasonClass = reasonClassOf(l.failureReason);
    const std::string key = l.failureKind + '\n' + l.messageType + '\n' + reasonClass;
    auto [it, added] = byKey.try_emplace(key);
    FailureGroup& g = it->second;
    if (added) {
      g.id = hex16(fnv1a(key));
      g.failureKind = l.failureKind;
      g.messageType = l.messageType;
      g.reasonClass = reasonClass;
      g.exampleReason = l.failureReason;
      g.firstFailedAt = l.failedAt;
      g.lastFailedAt = l.failedAt;
    }
    ++g.count;
    if (!l.failedAt.empty()) {
      if (g.firstFailedAt.empty() || l.failedAt < g.firstFailedAt) g.firstFailedAt = l.failedAt;
      if (l.failedAt > g.lastFailedAt) g.lastFailedAt = l.failedAt;
    }
    if (std::find(g.messageIds.begin(), g.messageIds.end(), l.messageId) == g.messageIds.end())
      g.messageIds.push_back(l.messageId);
  }
  std::vector<FailureGroup> groups;
  groups.reserve(byKey.size());
  for (auto& [key, group] : byKey) groups.push_back(std::move(group));
  std::sort(groups.begin(), groups.end(), [](const FailureGroup& a, const FailureGroup& b) {
    return a.count != b.count ? a.count > b.count : a.id < b.id;
  });
  return groups;
}

DeadLetterOperations::DeadLetterOperations(RabbitConnectionOptions connection, const Clock* clock)
    : connection_(std::move(connection)), clock_(clock) {}

Result<std::unique_ptr<DeadLetterAdmin>> DeadLetterOperations::connect(
    const std::string& action) const {
  RabbitConnectionOptions options = connection_;
  options.connectionName =
      (connection_.connectionName.empty() ? std::string("dead-letter operations")
                                          : connection_.connectionName) +
      " " + action;
  return DeadLetterAdmin::connect(options, clock_);
}

Result<DeadLetterListing> DeadLetterOperations::list(const std::string& queue,
                                                     std::size_t limit) const {
  auto admin = connect("list");
  if (!admin) return admin.error();
  DeadLetterListing listing;
  listing.dlq = deadLetterQueueOf(queue);
  listing.queue = listing.dlq.substr(0, listing.dlq.size() - 4);
  auto count = (*admin)->count(listing.dlq);
  if (!count) return count.error();
  listing.count = *count;
  if (*count > 0 && limit > 0) {
    auto letters = (*admin)->peek(listing.dlq, limit);
    if (!letters) return letters.error();
    listing.letters = std::move(letters).value();
  }
  listing.truncated = listing.count > static_cast<std::int64_t>(listing.letters.size());
  listing.groups = groupByFailure(listing.letters);
  return listing;
}

Result<DeadLetter> DeadLetterOperations::inspect(const std::string& queue,
                                                 const std::string& messageId,
                                                 std::size_t limit) const {
  auto admin = connect("inspect");
  if (!admin) return admin.error();
  const std::string dlq = deadLetterQueueOf(queue);
  auto letters = (*admin)->peek(dlq, limit);
  if (!letters) return letters.error();
  for (auto& l : *letters)
    if (l.messageId == messageId) return std::move(l);
  return Error{ErrorCode::kNotFound, "no message with id " + messageId + " in " + dlq};
}

Result<DeadLetterAdmin::QueueState> DeadLetterOperations::queueState(
    const std::string& queue) const {
  auto admin = connect("queue state");
  if (!admin) return admin.error();
  return (*admin)->queueState(queue);
}

Result<ReplayOutcome> DeadLetterOperations::replay(const std::string& queue,
                                                   const Selection& selection,
                                                   const std::string& actor) const {
  if (!selection.all && selection.messageIds.empty())
    return Error{ErrorCode::kInvalidArgument, "select the messages to replay: all, or messageIds"};
  ReplayOutcome outcome;
  outcome.dlq = deadLetterQueueOf(queue);
  spdlog::info("audit: {} replays {} of {}", actor,
               selection.all ? std::string("every message")
                             : std::to_string(selection.messageIds.size()) + " message id(s)",
               outcome.dlq);
  auto admin = connect("replay");
  if (!admin) {
    spdlog::warn("audit: replay by {} of {} failed, nothing replayed: {}", actor, outcome.dlq,
                 admin.error().message);
    return admin.error();
  }
  auto report = selection.all ? (*admin)->replay(outcome.dlq, std::nullopt)
                              : (*admin)->replay(outcome.dlq, selection.messageIds);
  if (!report) {
    spdlog::warn("audit: replay by {} of {} failed: {} (what was replayed before stays replayed)",
                 actor, outcome.dlq, report.error().message);
    return report.error();
  }
  outcome.replayed = std::move(report->replayedIds);
  outcome.problems = std::move(report->problems);
  audit("replayed", actor, outcome.dlq, outcome.replayed);
  for (const auto& problem : outcome.problems)
    spdlog::warn("audit: replay by {} of {}: {}", actor, outcome.dlq, problem);
  spdlog::info("audit: {} replayed {} message(s) of {} to their work queue: [{}]", actor,
               outcome.replayed.size(), outcome.dlq, joined(outcome.replayed));
  return outcome;
}

Result<DiscardOutcome> DeadLetterOperations::discard(const std::string& queue,
                                                     const std::set<std::string>& messageIds,
                                                     const std::string& actor) const {
  if (messageIds.empty())
    return Error{ErrorCode::kInvalidArgument, "select the messages to discard by messageId"};
  DiscardOutcome outcome;
  outcome.dlq = deadLetterQueueOf(queue);
  auto admin = connect("discard");
  if (!admin) {
    spdlog::warn("audit: discard by {} of {} failed, nothing discarded: {}", actor, outcome.dlq,
                 admin.error().message);
    return admin.error();
  }
  auto report = (*admin)->discard(outcome.dlq, messageIds);
  if (!report) {
    spdlog::warn("audit: discard by {} of {} failed: {}", actor, outcome.dlq,
                 report.error().message);
    return report.error();
  }
  outcome.discarded = std::move(report->discardedIds);
  for (const auto& id : messageIds) {
    if (std::find(outcome.discarded.begin(), outcome.discarded.end(), id) ==
        outcome.discarded.end())
      outcome.notFound.push_back(id);
  }
  audit("discarded", actor, outcome.dlq, outcome.discarded);
  spdlog::info("audit: {} discarded {} message(s) of {}: [{}]", actor, outcome.discarded.size(),
               outcome.dlq, joined(outcome.discarded));
  return outcome;
}

Result<std::int64_t> DeadLetterOperations::purge(const std::string& queue,
                                                 const std::string& actor) const {
  const std::string dlq = deadLetterQueueOf(queue);
  auto admin = connect("purge");
  if (!admin) return admin.error();
  auto purged = (*admin)->purge(dlq);
  if (!purged) {
    spdlog::warn("audit: purge by {} of {} failed: {}", actor, dlq, purged.error().message);
    return purged.error();
  }
  spdlog::info("audit: {} purged {} of {}: every message deleted", actor, *purged, dlq);
  return purged;
}

}  // namespace orders::operations
