#include "common/log_fields.hpp"

namespace orders {
namespace {

thread_local LogFields current;

void merge(std::string_view& into, std::string_view value) {
  if (!value.empty()) into = value;
}

}  // namespace

ScopedLogFields::ScopedLogFields(const LogFields& fields) : previous_(current) {
  merge(current.orderId, fields.orderId);
  merge(current.messageId, fields.messageId);
  merge(current.messageType, fields.messageType);
  merge(current.correlationId, fields.correlationId);
  merge(current.traceId, fields.traceId);
  merge(current.spanId, fields.spanId);
}

ScopedLogFields::~ScopedLogFields() {
  current = previous_;
}

const LogFields& currentLogFields() {
  return current;
}

}  // namespace orders
