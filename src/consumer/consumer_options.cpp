#include "consumer/consumer_options.hpp"

namespace orders {
namespace {

Status checkName(const std::string& value, const std::string& field) {
  if (value.empty()) return invalid(field, field + " must not be empty");
  if (value.size() > 200) return invalid(field, field + " must be at most 200 characters");
  if (value.rfind("amq.", 0) == 0) {
    return invalid(field, field + " '" + value + "' uses the reserved prefix \"amq.\"");
  }
  return okStatus();
}

}  // namespace

std::string retryQueueName(const std::string& queue, std::size_t level) {
  return queue + ".retry." + std::to_string(level);
}

std::string deadLetterQueueName(const std::string& queue) {
  return queue + ".dlq";
}

Status validateConsumerOptions(const ConsumerOptions& options) {
  const Subscription& s = options.subscription;
  if (auto st = checkName(s.queue, "queue"); !st) return st;
  if (auto st = checkName(s.exchange, "exchange"); !st) return st;
  if (s.routingKeys.empty()) {
    return invalid("routingKeys", "routingKeys must name at least one routing key to bind");
  }
  for (std::size_t i = 0; i < s.routingKeys.size(); ++i) {
    if (s.routingKeys[i].empty() || s.routingKeys[i].size() > 255) {
      return invalid("routingKeys[" + std::to_string(i) + "]",
                     "routingKeys[" + std::to_string(i) + "] must be 1-255 characters");
    }
  }
  if (s.deliveryLimit) {
    if (s.queueType != QueueType::kQuorum) {
      return invalid("deliveryLimit", "deliveryLimit needs a quorum queue");
    }
    if (*s.deliveryLimit < 1) return invalid("deliveryLimit", "deliveryLimit must be at least 1");
  }
  const RetryPolicy& r = options.retry;
  if (r.maxRetries < 0) return invalid("maxRetries", "maxRetries must not be negative");
  if (r.maxRetries > 0 && r.delays.empty()) {
    return invalid("delays", "retries need at least one retry delay");
  }
  for (std::size_t i = 0; i < r.delays.size(); ++i) {
    const auto d = r.delays[i];
    if (d < std::chrono::milliseconds(1) || d > std::chrono::hours(24)) {
      return invalid("delays[" + std::to_string(i) + "]",
                     "retry delays must be between 1 ms and 24 h");
    }
  }
  if (options.prefetch == 0) return invalid("prefetch", "prefetch must be at least 1");
  if (options.workers == 0 || options.workers > 256) {
    return invalid("workers", "workers must be between 1 and 256");
  }
  if (options.reconnectInitial <= std::chrono::milliseconds(0) ||
      options.reconnectMax < options.reconnectInitial) {
    return invalid("reconnectInitial",
                   "reconnect backoff must be positive and reconnectMax >= reconnectInitial");
  }
  return okStatus();
}

}  // namespace orders
