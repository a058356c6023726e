#include "consumer/message_processor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <utility>

namespace orders {
namespace {

using nlohmann::json;

/// Header values we never copy onto a retry or dead-letter copy: the broker's own bookkeeping
/// (it starts over on the copy) and ours (rewritten below).
bool dropOnCopy(const std::string& name) {
  return name == "x-death" || name.rfind("x-first-death-", 0) == 0 ||
         name.rfind("x-last-death-", 0) == 0 || name == "x-delivery-count" ||
         name == kHeaderRetryCount || name == kHeaderOriginalExchange ||
         name == kHeaderOriginalRoutingKey || name == kHeaderOriginalQueue ||
         name == kHeaderFailureReason || name == kHeaderFailureKind || name == kHeaderFailedAt ||
         name == kHeaderAttempts || name == kHeaderConsumer;
}

std::optional<std::int64_t> intHeader(const TransportDelivery& d, const std::string& name) {
  const MessageHeader* h = d.header(name);
  if (h == nullptr) return std::nullopt;
  if (const auto* i = std::get_if<std::int64_t>(&h->value)) return *i;
  const auto& s = std::get<std::string>(h->value);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::string stringHeader(const TransportDelivery& d, const std::string& name,
                         const std::string& fallback) {
  const MessageHeader* h = d.header(name);
  if (h == nullptr) return fallback;
  if (const auto* s = std::get_if<std::string>(&h->value)) return *s;
  return fallback;
}

/// "1.2" -> {1, 2}; nullopt unless two non-negative integers joined by a dot.
std::optional<std::pair<int, int>> parseVersion(const std::string& version) {
  const auto dot = version.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == version.size()) return std::nullopt;
  int major = 0;
  int minor = 0;
  const char* b = version.data();
  auto r1 = std::from_chars(b, b + dot, major);
  auto r2 = std::from_chars(b + dot + 1, b + version.size(), minor);
  if (r1.ec != std::errc() || r1.ptr != b + dot || r2.ec != std::errc() ||
      r2.ptr != b + version.size() || major < 0 || minor < 0) {
    return std::nullopt;
  }
  return std::make_pair(major, minor);
}

std::string text(const json& doc, const char* key) {
  if (!doc.is_object()) return "";
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

/// Keeps failure reasons readable in headers and logs.
std::string clip(std::string s) {
  constexpr std::size_t kMax = 1000;
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

std::string describe(const Error& e) {
  std::string s = std::string(toString(e.code)) + ": " + e.message;
  if (!e.currentStatus.empty() && e.message.find(e.currentStatus) == std::string::npos) {
    s += " (order status " + e.currentStatus + ")";
  }
  return clip(std::move(s));
}

void setHeader(std::vector<MessageHeader>& headers, std::string name,
               std::variant<std::string, std::int64_t> value) {
  headers.push_back(MessageHeader{std::move(name), std::move(value)});
}

}  // namespace

FailureClass classify(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kInDoubt:  // the redelivery finds the inbox mark, or applies it for the 1st
                               // time
    case ErrorCode::kInternal:
    case ErrorCode::kFenced:  // not a handler's outcome; if it ever were, a retry is the safe side
      return FailureClass::kTransient;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kTransitionNotAllowed:
    case ErrorCode::kPreconditionFailed:
    case ErrorCode::kConflict:
    case ErrorCode::kPermissionDenied:
      return FailureClass::kPermanent;
  }
  return FailureClass::kTransient;
}

const char* toString(Outcome outcome) {
  switch (outcome) {
    case Outcome::kApplied:
      return "applied";
    case Outcome::kDuplicate:
      return "duplicate";
    case Outcome::kRetried:
      return "retried";
    case Outcome::kDeadLettered:
      return "dead-lettered";
  }
  return "?";
}

MessageProcessor::MessageProcessor(const ConsumerOptions& options, const SchemaRegistry& schemas,
                                   const Clock& clock, Inbox* inbox, IdGenerator& ids)
    : options_(options), schemas_(schemas), clock_(clock), inbox_(inbox), ids_(ids) {}

Status MessageProcessor::on(std::string messageType, int majorVersion, MessageHandler handler,
                            Deduplication deduplication) {
  if (!handler) return invalid("handler", "the handler of " + messageType + " is empty");
  if (majorVersion < 0) return invalid("majorVersion", "majorVersion must not be negative");
  if (deduplication == Deduplication::kRuntime && inbox_ == nullptr) {
    return invalid("deduplication", "the handler of " + messageType +
                                        " asks the runtime to deduplicate, but the consumer "
                                        "has no Inbox (give one, or use Deduplication::kHandler)");
  }
  if (!schemas_.knows(messageType, majorVersion)) {
    return invalid("messageType", "no JSON Schema for " + messageType + " major version " +
                                      std::to_string(majorVersion) + " (schemas/<folder>/" +
                                      messageType + "/" + std::to_string(majorVersion) +
                                      ".<minor>.json)");
  }
  auto key = std::make_pair(std::move(messageType), majorVersion);
  if (handlers_.count(key) != 0) {
    return invalid("messageType", "a handler for " + key.first + " major version " +
                                      std::to_string(majorVersion) + " is already registered");
  }
  handlers_.emplace(std::move(key), Registered{std::move(handler), deduplication});
  return okStatus();
}

std::string MessageProcessor::partitionKey(const nlohmann::json& parsed) {
  return text(parsed, "partitionKey");
}

BrokerMessage MessageProcessor::copyOf(const TransportDelivery& d, int retryCount) const {
  BrokerMessage m;
  m.exchange = "";  // the default exchange: addressed to one queue by name, no fan-out
  m.body = d.body;
  m.mandatory = true;
  m.contentType = d.contentType;
  m.persistent = true;
  m.messageId = d.messageId;
  m.type = d.type;
  m.appId = d.appId;
  m.correlationId = d.correlationId;
  m.timestampSeconds = d.timestampSeconds;
  for (const auto& h : d.headers) {
    if (!dropOnCopy(h.name)) m.headers.push_back(h);
  }
  setHeader(m.headers, kHeaderRetryCount, std::int64_t{retryCount});
  setHeader(m.headers, kHeaderOriginalExchange,
            stringHeader(d, kHeaderOriginalExchange, d.exchange));
  setHeader(m.headers, kHeaderOriginalRoutingKey,
            stringHeader(d, kHeaderOriginalRoutingKey, d.routingKey));
  setHeader(m.headers, kHeaderOriginalQueue, options_.subscription.queue);
  setHeader(m.headers, kHeaderConsumer, options_.name());
  return m;
}

Decision MessageProcessor::deadLetter(const TransportDelivery& d, Decision decision,
                                      const std::string& kind) const {
  const int retryCount = decision.attempt - 1;
  BrokerMessage copy = copyOf(d, retryCount);
  copy.routingKey = deadLetterQueueName(options_.subscription.queue);
  setHeader(copy.headers, kHeaderFailureReason, decision.reason);
  setHeader(copy.headers, kHeaderFailureKind, kind);
  setHeader(copy.headers, kHeaderFailedAt, formatIso8601(clock_.now()));
  setHeader(copy.headers, kHeaderAttempts, std::int64_t{decision.attempt});
  decision.outcome = Outcome::kDeadLettered;
  decision.failureKind = kind;
  decision.settlement.kind = Settlement::Kind::kRepublishThenAck;
  decision.settlement.copy = std::move(copy);
  return decision;
}

Decision MessageProcessor::retryOrDeadLetter(const TransportDelivery& d, Decision decision) const {
  const int retryCount = decision.attempt - 1;
  if (retryCount >= options_.retry.maxRetries) {
    decision.reason =
        clip("gave up after " + std::to_string(decision.attempt) +
             (decision.attempt == 1 ? " attempt: " : " attempts: ") + decision.reason);
    return deadLetter(d, std::move(decision), "retries-exhausted");
  }
  const std::size_t level =
      std::min<std::size_t>(static_cast<std::size_t>(retryCount) + 1, options_.retry.delays.size());
  BrokerMessage copy = copyOf(d, retryCount + 1);
  copy.routingKey = retryQueueName(options_.subscription.queue, level);
  setHeader(copy.headers, kHeaderFailureReason, decision.reason);
  setHeader(copy.headers, kHeaderAttempts, std::int64_t{decision.attempt});
  decision.outcome = Outcome::kRetried;
  decision.settlement.kind = Settlement::Kind::kRepublishThenAck;
  decision.settlement.copy = std::move(copy);
  return decision;
}

Decision MessageProcessor::process(const TransportDelivery& d, const ExactJson* parsed) {
  Decision decision;
  decision.attempt =
      static_cast<int>(std::max<std::int64_t>(
          0, std::min<std::int64_t>(intHeader(d, kHeaderRetryCount).value_or(0), 1'000'000))) +
      1;
  decision.messageId = d.messageId;

  ExactJson document;
  if (parsed != nullptr) {
    document = *parsed;
  } else {
    auto fresh = parseExactJson(d.body);
    if (!fresh) {
      decision.reason = clip("the body is not JSON: " + fresh.error().message);
      return deadLetter(d, std::move(decision), "invalid-message");
    }
    document = std::move(fresh).value();
  }
  json& doc = document.value;
  if (auto id = text(doc, "messageId"); !id.empty()) decision.messageId = id;
  decision.messageType = text(doc, "messageType");
  const std::string version = text(doc, "messageVersion");

  // Which handler, before the schema check: a version we cannot handle is reported as such
  // (unsupported-version), not as whatever the newest schema of another major says about it.
  const auto parsedVersion = parseVersion(version);
  const Registered* registered = nullptr;
  if (!decision.messageType.empty() && parsedVersion) {
    auto it = handlers_.find({decision.messageType, parsedVersion->first});
    if (it != handlers_.end()) {
      registered = &it->second;
    } else {
      std::string majors;
      std::string types;
      for (const auto& [key, _] : handlers_) {
        if (key.first == decision.messageType) {
          majors += (majors.empty() ? "" : ", ") + std::to_string(key.second);
        }
        if (types.find(key.first) == std::string::npos) {
          types += (types.empty() ? "" : ", ") + key.first;
        }
      }
      if (!majors.empty()) {
        decision.reason = "messageVersion " + version + " of " + decision.messageType +
                          " is not supported by consumer " + options_.name() +
                          " (it handles major version " + majors + ")";
        return deadLetter(d, std::move(decision), "unsupported-version");
      }
      decision.reason = clip("no handler for messageType " + decision.messageType +
                             " in consumer " + options_.name() + " (it handles " + types + ")");
      return deadLetter(d, std::move(decision), "invalid-message");
    }
  }
  if (auto valid = schemas_.validateMessage(doc); !valid) {
    decision.reason = clip("schema violation: " + valid.error().message);
    return deadLetter(d, std::move(decision), "invalid-message");
  }
  if (registered == nullptr) {  // valid per the schemas, so type and version were readable
    decision.reason = "no handler for messageType " + decision.messageType;
    return deadLetter(d, std::move(decision), "invalid-message");
  }

  InboundMessage message;
  message.messageId = decision.messageId;
  message.messageType = decision.messageType;
  message.messageVersion = version;
  message.majorVersion = parsedVersion->first;
  message.minorVersion = parsedVersion->second;
  message.timestamp = text(doc, "timestamp");
  message.source = text(doc, "source");
  message.correlationId = text(doc, "correlationId");
  message.partitionKey = text(doc, "partitionKey");
  message.payload = std::move(doc["payload"]);
  for (auto& [pointer, text] : document.numberText) {
    if (pointer.starts_with("/payload/")) {
      message.payloadNumberText.emplace(pointer.substr(std::string_view("/payload").size()),
                                        std::move(text));
    }
  }
  message.consumerName = options_.name();
  message.queue = options_.subscription.queue;
  message.exchange = stringHeader(d, kHeaderOriginalExchange, d.exchange);
  message.routingKey = stringHeader(d, kHeaderOriginalRoutingKey, d.routingKey);
  message.attempt = decision.attempt;
  message.redelivered = d.redelivered;
  message.headers = d.headers;
  const MessageHeader* traceparent = d.header(kTraceparentHeader);
  const MessageHeader* tracestate = d.header(kTracestateHeader);
  const auto textOf = [](const MessageHeader* h) -> std::optional<std::string_view> {
    if (h == nullptr) return std::nullopt;
    if (const auto* s = std::get_if<std::string>(&h->value)) return std::string_view(*s);
    return std::nullopt;  // not a string: not a traceparent either, so a new trace
  };
  message.trace = continueTrace(textOf(traceparent), textOf(tracestate), ids_);

  const bool runtimeDedup = registered->deduplication == Deduplication::kRuntime;
  if (runtimeDedup) {
    auto known = inbox_->contains({message.consumerName, message.messageId});
    if (!known) {
      decision.reason = "inbox unavailable: " + describe(known.error());
      return retryOrDeadLetter(d, std::move(decision));
    }
    if (*known) {
      decision.outcome = Outcome::kDuplicate;
      decision.settlement.kind = Settlement::Kind::kAck;
      return decision;
    }
  }

  std::optional<HandlerResult> result;
  try {
    const ScopedTraceContext traced(message.trace);  // for the handler's log lines
    result.emplace(registered->handler(message));
  } catch (const std::exception& e) {
    decision.reason = clip(std::string("the handler threw: ") + e.what());
    return retryOrDeadLetter(d, std::move(decision));
  } catch (...) {
    decision.reason = "the handler threw a non-standard exception";
    return retryOrDeadLetter(d, std::move(decision));
  }

  if (!result->ok()) {
    decision.reason = describe(result->error());
    if (classify(result->error().code) == FailureClass::kPermanent) {
      return deadLetter(d, std::move(decision), "permanent-failure");
    }
    return retryOrDeadLetter(d, std::move(decision));
  }
  decision.outcome =
      result->value() == Handled::kDuplicate ? Outcome::kDuplicate : Outcome::kApplied;
  if (runtimeDedup && decision.outcome == Outcome::kApplied) {
    // The effect happened; failing to record it must not undo the ack (the message would be
    // applied again right away). A later duplicate may then apply twice: say so loudly.
    if (auto recorded = inbox_->record({message.consumerName, message.messageId}); !recorded) {
      spdlog::warn(
          "consumer {}: message {} applied but not recorded in the inbox ({}); a redelivery of "
          "it would be applied again",
          options_.name(), message.messageId, recorded.error().message);
    }
  }
  decision.settlement.kind = Settlement::Kind::kAck;
  return decision;
}

}  // namespace orders
