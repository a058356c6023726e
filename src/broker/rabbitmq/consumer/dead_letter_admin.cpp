#include "broker/rabbitmq/consumer/dead_letter_admin.hpp"

#include <chrono>
#include <set>

#include "broker/rabbitmq/amqp/amqp_url.hpp"
#include "broker/rabbitmq/amqp/detail/amqp_fields.hpp"
#include "broker/rabbitmq/amqp/detail/confirms.hpp"
#include "broker/rabbitmq/amqp/detail/connection.hpp"
#include "consumer/failure_headers.hpp"
#include "consumer/transport.hpp"  // TransportDelivery

namespace orders {
namespace {

using rabbitmq::bytes;
using rabbitmq::str;

std::string textHeader(const std::vector<MessageHeader>& headers, const std::string& name) {
  for (const auto& h : headers) {
    if (h.name != name) continue;
    if (const auto* s = std::get_if<std::string>(&h.value)) return *s;
    return std::to_string(std::get<std::int64_t>(h.value));
  }
  return "";
}

std::int64_t intHeader(const std::vector<MessageHeader>& headers, const std::string& name) {
  for (const auto& h : headers) {
    if (h.name != name) continue;
    if (const auto* i = std::get_if<std::int64_t>(&h.value)) return *i;
    try {
      return std::stoll(std::get<std::string>(h.value));
    } catch (const std::exception&) {
      return 0;  // not a number: report 0 rather than fail the listing
    }
  }
  return 0;
}

bool failureHeader(const std::string& name) {
  return name == "x-death" || name.rfind("x-first-death-", 0) == 0 ||
         name.rfind("x-last-death-", 0) == 0 || name == "x-delivery-count" ||
         name == kHeaderFailureReason || name == kHeaderFailureKind || name == kHeaderFailedAt ||
         name == kHeaderAttempts || name == kHeaderRetryCount || name == kHeaderReplayCount;
}

struct Fetched {
  std::uint64_t deliveryTag = 0;
  TransportDelivery delivery;
  DeadLetter letter;
};

DeadLetter toDeadLetter(const TransportDelivery& d, const std::string& dlq) {
  DeadLetter l;
  l.messageId = d.messageId;
  l.messageType = d.type;
  l.correlationId = d.correlationId;
  l.headers = d.headers;
  l.body = d.body;
  l.failureReason = textHeader(d.headers, kHeaderFailureReason);
  l.failureKind = textHeader(d.headers, kHeaderFailureKind);
  l.failedAt = textHeader(d.headers, kHeaderFailedAt);
  l.attempts = intHeader(d.headers, kHeaderAttempts);
  l.originalExchange = textHeader(d.headers, kHeaderOriginalExchange);
  l.originalRoutingKey = textHeader(d.headers, kHeaderOriginalRoutingKey);
  l.originalQueue = textHeader(d.headers, kHeaderOriginalQueue);
  l.consumer = textHeader(d.headers, kHeaderConsumer);
  l.replayCount = intHeader(d.headers, kHeaderReplayCount);
  // Dead-lettered by the broker itself (delivery limit, or a reject): x-first-death-* say why.
  if (l.failureKind.empty()) l.failureKind = textHeader(d.headers, "x-first-death-reason");
  if (l.originalQueue.empty()) l.originalQueue = textHeader(d.headers, "x-first-death-queue");
  if (l.originalExchange.empty())
    l.originalExchange = textHeader(d.headers, "x-first-death-exchange");
  if (l.originalQueue.empty() && dlq.size() > 4 && dlq.ends_with(".dlq")) {
    l.originalQueue = dlq.substr(0, dlq.size() - 4);
  }
  if (l.messageType.empty() || l.messageId.empty()) {
    // Not every producer sets the AMQP properties: fall back to the envelope.
    auto doc = nlohmann::json::parse(d.body, nullptr, false);
    if (doc.is_object()) {
      if (l.messageType.empty() && doc.contains("messageType") && doc["messageType"].is_string())
        l.messageType = doc["messageType"].get<std::string>();
      if (l.messageId.empty() && doc.contains("messageId") && doc["messageId"].is_string())
        l.messageId = doc["messageId"].get<std::string>();
    }
  }
  return l;
}

}  // namespace

nlohmann::json DeadLetter::toJson() const {
  nlohmann::json headersJson = nlohmann::json::object();
  for (const auto& h : headers) {
    if (const auto* i = std::get_if<std::int64_t>(&h.value)) {
      headersJson[h.name] = *i;
    } else {
      const auto& s = std::get<std::string>(h.value);
      // Tables and arrays (x-death) arrive as JSON text: show them as JSON.
      auto parsed = (!s.empty() && (s.front() == '[' || s.front() == '{'))
                        ? nlohmann::json::parse(s, nullptr, false)
                        : nlohmann::json(nlohmann::json::value_t::discarded);
      headersJson[h.name] = parsed.is_discarded() ? nlohmann::json(s) : parsed;
    }
  }
  auto parsedBody = nlohmann::json::parse(body, nullptr, false);
  return nlohmann::json{
      {"messageId", messageId},
      {"messageType", messageType},
      {"correlationId", correlationId},
      {"failureKind", failureKind},
      {"failureReason", failureReason},
      {"failedAt", failedAt},
      {"attempts", attempts},
      {"originalExchange", originalExchange},
      {"originalRoutingKey", originalRoutingKey},
      {"originalQueue", originalQueue},
      {"consumer", consumer},
      {"replayCount", replayCount},
      {"headers", headersJson},
      {"body", parsedBody.is_discarded() ? nlohmann::json(body) : parsedBody},
  };
}

struct DeadLetterAdmin::Impl {
  explicit Impl(const Clock* given) : clock(given != nullptr ? *given : systemClock) {}

  SystemClock systemClock;
  const Clock& clock;
  std::unique_ptr<rabbitmq::Connection> connection;
  amqp_connection_state_t raw() { return connection->raw(); }

  Status usable() {
    if (connection->usable()) return okStatus();
    return Error{ErrorCode::kUnavailable,
                 "connection to " + connection->url().redacted() + " is closed"};
  }

  Error fail(const std::string& what, amqp_channel_t channel) {
    return connection->replyError(amqp_get_rpc_reply(raw()), what, channel);
  }

  /// A fresh channel for one operation (a broker error closes a channel; never reuse one).
  Result<amqp_channel_t> channel() {
    if (auto s = usable(); !s) return s.error();
    return connection->openChannel();
  }

  Result<std::int64_t> count(amqp_channel_t ch, const std::string& queue) {
    auto* ok = amqp_queue_declare(raw(), ch, bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    if (ok == nullptr) {
      Error e = fail("queue '" + queue + "'", ch);
      if (e.code == ErrorCode::kNotFound) e.message = "queue '" + queue + "' does not exist";
      return e;
    }
    return static_cast<std::int64_t>(ok->message_count);
  }

  /// The broker requeues nacked messages asynchronously (a quorum queue through its log): wait,
  /// at most 2 s, until `queue` shows `expected` ready messages again, so that a command right
  /// after this one sees them. Best effort: other clients may change the count meanwhile.
  void awaitReady(const std::string& queue, std::int64_t expected) {
    auto ch = channel();
    if (!ch) return;
    const auto deadline = clock.steadyNow() + std::chrono::seconds(2);
    while (clock.steadyNow() < deadline) {
      auto n = count(*ch, queue);
      if (!n || *n >= expected) break;
      clock.sleepUntil(clock.steadyNow() + std::chrono::milliseconds(10));
    }
    connection->closeChannel(*ch);
  }

  /// basic.get without auto-ack; nullopt when the queue is empty.
  Result<std::optional<Fetched>> get(amqp_channel_t ch, const std::string& queue) {
    amqp_maybe_release_buffers(raw());
    amqp_rpc_reply_t reply = amqp_basic_get(raw(), ch, bytes(queue), 0);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL)
      return connection->replyError(reply, "basic.get '" + queue + "'", ch);
    if (reply.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) return std::optional<Fetched>();
    auto* ok = static_cast<amqp_basic_get_ok_t*>(reply.reply.decoded);
    Fetched f;
    f.deliveryTag = ok->delivery_tag;
    f.delivery.deliveryTag = ok->delivery_tag;
    f.delivery.exchange = str(ok->exchange);
    f.delivery.routingKey = str(ok->routing_key);
    f.delivery.redelivered = ok->redelivered != 0;
    amqp_message_t message;
    amqp_rpc_reply_t read = amqp_read_message(raw(), ch, &message, 0);
    if (read.reply_type != AMQP_RESPONSE_NORMAL)
      return connection->replyError(read, "reading a message of '" + queue + "'", ch);
    f.delivery.body = str(message.body);
    if (auto mode = rabbitmq::readProperties(message.properties, f.delivery))
      f.delivery.persistent = *mode == AMQP_DELIVERY_PERSISTENT;
    amqp_destroy_message(&message);
    f.letter = toDeadLetter(f.delivery, queue);
    return std::optional<Fetched>(std::move(f));
  }
};

DeadLetterAdmin::DeadLetterAdmin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DeadLetterAdmin::~DeadLetterAdmin() {
  if (impl_ && impl_->connection) impl_->connection->close();
}

Result<std::unique_ptr<DeadLetterAdmin>> DeadLetterAdmin::connect(
    const RabbitConnectionOptions& options, const Clock* clock) {
  auto connection = rabbitmq::openFirstBroker(options);
  if (!connection) return connection.error();
  auto impl = std::make_unique<Impl>(clock);
  impl->connection = std::move(connection).value();
  return std::unique_ptr<DeadLetterAdmin>(new DeadLetterAdmin(std::move(impl)));
}

Result<std::int64_t> DeadLetterAdmin::count(const std::string& queue) {
  auto ch = impl_->channel();
  if (!ch) return ch.error();
  auto n = impl_->count(*ch, queue);
  if (n) impl_->connection->closeChannel(*ch);
  return n;
}

Result<DeadLetterAdmin::QueueState> DeadLetterAdmin::queueState(const std::string& queue) {
  auto ch = impl_->channel();
  if (!ch) return ch.error();
  auto* ok = amqp_queue_declare(impl_->raw(), *ch, bytes(queue), 1, 0, 0, 0, amqp_empty_table);
  if (ok == nullptr) {
    Error e = impl_->fail("queue '" + queue + "'", *ch);
    if (e.code == ErrorCode::kNotFound) e.message = "queue '" + queue + "' does not exist";
    return e;
  }
  QueueState state{static_cast<std::int64_t>(ok->message_count),
                   static_cast<std::int64_t>(ok->consumer_count)};
  impl_->connection->closeChannel(*ch);
  return state;
}

Result<std::vector<DeadLetter>> DeadLetterAdmin::peek(const std::string& queue, std::size_t limit) {
  auto ch = impl_->channel();
  if (!ch) return ch.error();
  auto before = impl_->count(*ch, queue);
  if (!before) return before.error();
  std::vector<DeadLetter> letters;
  while (letters.size() < limit) {
    auto fetched = impl_->get(*ch, queue);
    if (!fetched) return fetched.error();
    if (!*fetched) break;
    letters.push_back(std::move((*fetched)->letter));
  }
  // Give everything back (delivery tag 0 + multiple = every unacked message of the channel).
  if (!letters.empty()) (void)amqp_basic_nack(impl_->raw(), *ch, 0, 1, 1);
  impl_->connection->closeChannel(*ch);
  if (!letters.empty()) impl_->awaitReady(queue, *before);
  return letters;
}

Result<DeadLetterAdmin::ReplayReport> DeadLetterAdmin::replay(
    const std::string& queue, const std::optional<std::string>& messageId) {
  return replayMatching(
      queue, [&messageId](const DeadLetter& l) { return !messageId || l.messageId == *messageId; });
}

Result<DeadLetterAdmin::ReplayReport> DeadLetterAdmin::replay(
    const std::string& queue, const std::set<std::string>& messageIds) {
  return replayMatching(
      queue, [&messageIds](const DeadLetter& l) { return messageIds.count(l.messageId) != 0; });
}

Result<DeadLetterAdmin::ReplayReport> DeadLetterAdmin::replayMatching(
    const std::string& queue, const std::function<bool(const DeadLetter&)>& selected) {
  auto getChannel = impl_->channel();
  if (!getChannel) return getChannel.error();
  const amqp_channel_t g = *getChannel;
  if (auto exists = impl_->count(g, queue); !exists) return exists.error();
  auto pubChannel = impl_->channel();
  if (!pubChannel) return pubChannel.error();
  const amqp_channel_t p = *pubChannel;
  if (amqp_confirm_select(impl_->raw(), p) == nullptr) return impl_->fail("confirm.select", p);
  rabbitmq::ConfirmTracker confirms(p);
  rabbitmq::PublishProperties properties;

  ReplayReport report;
  bool keptSome = false;
  std::int64_t kept = 0;
  // A message replayed by this run that fails again comes back as a new copy with the same
  // messageId and the x-replay-count we gave it: never replay it twice in one run.
  std::set<std::pair<std::string, std::int64_t>> replayedNow;
  while (true) {
    auto fetched = impl_->get(g, queue);
    if (!fetched) return fetched.error();
    if (!*fetched) break;
    Fetched& f = **fetched;
    ++report.examined;
    const DeadLetter& l = f.letter;
    if (replayedNow.count({l.messageId, l.replayCount}) != 0) {
      keptSome = true;
      ++kept;
      continue;
    }
    if (!selected(l)) {
      keptSome = true;  // stays unacked until the end, then goes back
      ++kept;
      continue;
    }
    if (l.originalQueue.empty()) {
      report.problems.push_back("message " + l.messageId +
                                ": no x-original-queue header, left in the DLQ");
      keptSome = true;
      ++kept;
      continue;
    }
    BrokerMessage m;
    m.exchange = "";
    m.routingKey = l.originalQueue;
    m.body = f.delivery.body;
    m.contentType = f.delivery.contentType;
    m.messageId = f.delivery.messageId;
    m.type = f.delivery.type;
    m.appId = f.delivery.appId;
    m.correlationId = f.delivery.correlationId;
    m.timestampSeconds = f.delivery.timestampSeconds;
    m.persistent = true;
    for (const auto& h : f.delivery.headers) {
      if (!failureHeader(h.name)) m.headers.push_back(h);
    }
    m.headers.push_back({kHeaderRetryCount, std::int64_t{0}});
    m.headers.push_back({kHeaderReplayCount, l.replayCount + 1});
    // A return (no such queue) is an error although the broker acks it afterwards.
    if (auto published = rabbitmq::publishAndAwaitConfirm(*impl_->connection, confirms, m,
                                                          properties, std::chrono::seconds(10));
        !published) {
      if (published.error().code == ErrorCode::kNotFound && impl_->connection->usable()) {
        report.problems.push_back("message " + l.messageId + ": " + published.error().message +
                                  ", left in the DLQ");
        keptSome = true;
        ++kept;
        continue;
      }
      return published.error();
    }
    // Only now: the copy is safe in the work queue.
    if (const int rc = amqp_basic_ack(impl_->raw(), g, f.deliveryTag, 0); rc != AMQP_STATUS_OK)
      return rabbitmq::statusError(rc, "basic.ack");
    ++report.replayed;
    report.replayedIds.push_back(l.messageId);
    replayedNow.insert({l.messageId, l.replayCount + 1});
  }
  if (keptSome) (void)amqp_basic_nack(impl_->raw(), g, 0, 1, 1);
  impl_->connection->closeChannel(p);
  impl_->connection->closeChannel(g);
  if (keptSome) impl_->awaitReady(queue, kept);
  return report;
}

Result<DeadLetterAdmin::DiscardReport> DeadLetterAdmin::discard(
    const std::string& queue, const std::set<std::string>& messageIds) {
  auto ch = impl_->channel();
  if (!ch) return ch.error();
  if (auto exists = impl_->count(*ch, queue); !exists) return exists.error();
  DiscardReport report;
  std::int64_t kept = 0;
  // Every message is fetched once (a kept one stays unacked on this channel until the end), so
  // the loop ends when the queue has nothing left this run has not seen.
  while (true) {
    auto fetched = impl_->get(*ch, queue);
    if (!fetched) return fetched.error();
    if (!*fetched) break;
    ++report.examined;
    const Fetched& f = **fetched;
    if (messageIds.count(f.letter.messageId) == 0) {
      ++kept;
      continue;
    }
    if (const int rc = amqp_basic_ack(impl_->raw(), *ch, f.deliveryTag, 0); rc != AMQP_STATUS_OK)
      return rabbitmq::statusError(rc, "basic.ack");
    ++report.discarded;
    report.discardedIds.push_back(f.letter.messageId);
  }
  if (kept > 0) (void)amqp_basic_nack(impl_->raw(), *ch, 0, 1, 1);
  impl_->connection->closeChannel(*ch);
  if (kept > 0) impl_->awaitReady(queue, kept);
  return report;
}

Result<std::int64_t> DeadLetterAdmin::purge(const std::string& queue) {
  auto ch = impl_->channel();
  if (!ch) return ch.error();
  if (auto n = impl_->count(*ch, queue); !n) return n.error();
  auto* ok = amqp_queue_purge(impl_->raw(), *ch, bytes(queue));
  if (ok == nullptr) return impl_->fail("queue.purge '" + queue + "'", *ch);
  const auto purged = static_cast<std::int64_t>(ok->message_count);
  impl_->connection->closeChannel(*ch);
  return purged;
}

}  // namespace orders
