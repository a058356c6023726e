#include "broker/rabbitmq/consumer/detail/amqp_fields.hpp"

#include "broker/rabbitmq/detail/connection.hpp"

namespace orders::rabbitmq {

nlohmann::json fieldToJson(const amqp_field_value_t& v) {
  switch (v.kind) {
    case AMQP_FIELD_KIND_BOOLEAN:
      return v.value.boolean != 0;
    case AMQP_FIELD_KIND_I8:
      return v.value.i8;
    case AMQP_FIELD_KIND_U8:
      return v.value.u8;
    case AMQP_FIELD_KIND_I16:
      return v.value.i16;
    case AMQP_FIELD_KIND_U16:
      return v.value.u16;
    case AMQP_FIELD_KIND_I32:
      return v.value.i32;
    case AMQP_FIELD_KIND_U32:
      return v.value.u32;
    case AMQP_FIELD_KIND_I64:
      return v.value.i64;
    case AMQP_FIELD_KIND_U64:
    case AMQP_FIELD_KIND_TIMESTAMP:
      return v.value.u64;
    case AMQP_FIELD_KIND_F32:
      return v.value.f32;
    case AMQP_FIELD_KIND_F64:
      return v.value.f64;
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES:
      return str(v.value.bytes);
    case AMQP_FIELD_KIND_DECIMAL: {
      double value = static_cast<double>(v.value.decimal.value);
      for (int i = 0; i < v.value.decimal.decimals; ++i) value /= 10;
      return value;
    }
    case AMQP_FIELD_KIND_ARRAY: {
      nlohmann::json array = nlohmann::json::array();
      for (int i = 0; i < v.value.array.num_entries; ++i)
        array.push_back(fieldToJson(v.value.array.entries[i]));
      return array;
    }
    case AMQP_FIELD_KIND_TABLE: {
      nlohmann::json object = nlohmann::json::object();
      for (int i = 0; i < v.value.table.num_entries; ++i) {
        const auto& e = v.value.table.entries[i];
        object[str(e.key)] = fieldToJson(e.value);
      }
      return object;
    }
    case AMQP_FIELD_KIND_VOID:
    default:
      return nullptr;
  }
}

MessageHeader toHeader(const amqp_table_entry_t& e) {
  MessageHeader h;
  h.name = str(e.key);
  const amqp_field_value_t& v = e.value;
  switch (v.kind) {
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES:
      h.value = str(v.value.bytes);
      break;
    case AMQP_FIELD_KIND_I8:
    case AMQP_FIELD_KIND_U8:
    case AMQP_FIELD_KIND_I16:
    case AMQP_FIELD_KIND_U16:
    case AMQP_FIELD_KIND_I32:
    case AMQP_FIELD_KIND_U32:
    case AMQP_FIELD_KIND_I64:
      h.value = fieldToJson(v).get<std::int64_t>();
      break;
    case AMQP_FIELD_KIND_U64:
      h.value = static_cast<std::int64_t>(v.value.u64);
      break;
    default:
      h.value = fieldToJson(v).dump();
  }
  return h;
}

void readProperties(const amqp_basic_properties_t& p, TransportDelivery& d) {
  if (p._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) d.contentType = str(p.content_type);
  if (p._flags & AMQP_BASIC_DELIVERY_MODE_FLAG)
    d.persistent = p.delivery_mode == AMQP_DELIVERY_PERSISTENT;
  if (p._flags & AMQP_BASIC_MESSAGE_ID_FLAG) d.messageId = str(p.message_id);
  if (p._flags & AMQP_BASIC_TYPE_FLAG) d.type = str(p.type);
  if (p._flags & AMQP_BASIC_APP_ID_FLAG) d.appId = str(p.app_id);
  if (p._flags & AMQP_BASIC_CORRELATION_ID_FLAG) d.correlationId = str(p.correlation_id);
  if (p._flags & AMQP_BASIC_TIMESTAMP_FLAG)
    d.timestampSeconds = static_cast<std::int64_t>(p.timestamp);
  if (p._flags & AMQP_BASIC_HEADERS_FLAG) {
    for (int i = 0; i < p.headers.num_entries; ++i)
      d.headers.push_back(toHeader(p.headers.entries[i]));
  }
}

PublishProperties::PublishProperties(const BrokerMessage& m) {
  props_._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
  props_.delivery_mode = m.persistent ? AMQP_DELIVERY_PERSISTENT : AMQP_DELIVERY_NONPERSISTENT;
  if (!m.contentType.empty()) {
    props_._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
    props_.content_type = bytes(m.contentType);
  }
  if (!m.messageId.empty()) {
    props_._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
    props_.message_id = bytes(m.messageId);
  }
  if (!m.type.empty()) {
    props_._flags |= AMQP_BASIC_TYPE_FLAG;
    props_.type = bytes(m.type);
  }
  if (!m.appId.empty()) {
    props_._flags |= AMQP_BASIC_APP_ID_FLAG;
    props_.app_id = bytes(m.appId);
  }
  if (!m.correlationId.empty()) {
    props_._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
    props_.correlation_id = bytes(m.correlationId);
  }
  if (m.timestampSeconds) {
    props_._flags |= AMQP_BASIC_TIMESTAMP_FLAG;
    props_.timestamp = static_cast<std::uint64_t>(*m.timestampSeconds);
  }
  entries_.reserve(m.headers.size());
  for (const auto& h : m.headers) {
    amqp_table_entry_t e{};
    e.key = bytes(h.name);
    if (const auto* s = std::get_if<std::string>(&h.value)) {
      e.value.kind = AMQP_FIELD_KIND_UTF8;
      e.value.value.bytes = bytes(*s);
    } else {
      e.value.kind = AMQP_FIELD_KIND_I64;
      e.value.value.i64 = std::get<std::int64_t>(h.value);
    }
    entries_.push_back(e);
  }
  if (!entries_.empty()) {
    props_._flags |= AMQP_BASIC_HEADERS_FLAG;
    props_.headers = amqp_table_t{static_cast<int>(entries_.size()), entries_.data()};
  }
}

ArgumentTable& ArgumentTable::text(std::string key, std::string value) {
  items_.emplace_back(std::move(key), std::move(value));
  return *this;
}

ArgumentTable& ArgumentTable::number(std::string key, std::int64_t value) {
  items_.emplace_back(std::move(key), value);
  return *this;
}

amqp_table_t ArgumentTable::table() {
  entries_.clear();
  for (const auto& [key, value] : items_) {
    amqp_table_entry_t e{};
    e.key = bytes(key);
    if (const auto* s = std::get_if<std::string>(&value)) {
      e.value.kind = AMQP_FIELD_KIND_UTF8;
      e.value.value.bytes = bytes(*s);
    } else {
      e.value.kind = AMQP_FIELD_KIND_I64;
      e.value.value.i64 = std::get<std::int64_t>(value);
    }
    entries_.push_back(e);
  }
  return entries_.empty() ? amqp_empty_table
                          : amqp_table_t{static_cast<int>(entries_.size()), entries_.data()};
}

}  // namespace orders::rabbitmq
