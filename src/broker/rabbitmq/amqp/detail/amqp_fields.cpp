#include "broker/rabbitmq/amqp/detail/amqp_fields.hpp"

#include <nlohmann/json.hpp>

namespace orders::rabbitmq {
namespace {

using FieldUnion = decltype(amqp_field_value_t::value);

template <auto member>
std::int64_t widen(const FieldUnion& u) {
  return static_cast<std::int64_t>(u.*member);
}

/// Every integer kind that fits an int64, with the union member that holds it.
struct IntegerKind {
  std::uint8_t kind;
  std::int64_t (*read)(const FieldUnion&);
};
constexpr IntegerKind kIntegerKinds[] = {
    {AMQP_FIELD_KIND_I8, widen<&FieldUnion::i8>},   {AMQP_FIELD_KIND_U8, widen<&FieldUnion::u8>},
    {AMQP_FIELD_KIND_I16, widen<&FieldUnion::i16>}, {AMQP_FIELD_KIND_U16, widen<&FieldUnion::u16>},
    {AMQP_FIELD_KIND_I32, widen<&FieldUnion::i32>}, {AMQP_FIELD_KIND_U32, widen<&FieldUnion::u32>},
    {AMQP_FIELD_KIND_I64, widen<&FieldUnion::i64>}};

std::optional<std::int64_t> integerValue(const amqp_field_value_t& v) {
  for (const auto& k : kIntegerKinds)
    if (k.kind == v.kind) return k.read(v.value);
  return std::nullopt;
}

/// Any field value as JSON: tables as objects, arrays as arrays, timestamps as integers, byte
/// strings as strings.
nlohmann::json toJson(const amqp_field_value_t& v) {
  if (auto i = integerValue(v)) return *i;
  const FieldUnion& u = v.value;
  switch (v.kind) {
    case AMQP_FIELD_KIND_BOOLEAN:
      return u.boolean != 0;
    case AMQP_FIELD_KIND_U64:
    case AMQP_FIELD_KIND_TIMESTAMP:
      return u.u64;
    case AMQP_FIELD_KIND_F32:
      return u.f32;
    case AMQP_FIELD_KIND_F64:
      return u.f64;
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES:
      return str(u.bytes);
    case AMQP_FIELD_KIND_DECIMAL: {
      double value = static_cast<double>(u.decimal.value);
      for (int i = 0; i < u.decimal.decimals; ++i) value /= 10;
      return value;
    }
    case AMQP_FIELD_KIND_ARRAY: {
      nlohmann::json array = nlohmann::json::array();
      for (int i = 0; i < u.array.num_entries; ++i) array.push_back(toJson(u.array.entries[i]));
      return array;
    }
    case AMQP_FIELD_KIND_TABLE: {
      nlohmann::json object = nlohmann::json::object();
      for (int i = 0; i < u.table.num_entries; ++i)
        object[str(u.table.entries[i].key)] = toJson(u.table.entries[i].value);
      return object;
    }
    default:  // AMQP_FIELD_KIND_VOID
      return nullptr;
  }
}

MessageHeader toHeader(const amqp_table_entry_t& e) {
  const amqp_field_value_t& v = e.value;
  if (v.kind == AMQP_FIELD_KIND_UTF8 || v.kind == AMQP_FIELD_KIND_BYTES)
    return {str(e.key), str(v.value.bytes)};
  if (auto i = integerValue(v)) return {str(e.key), *i};
  if (v.kind == AMQP_FIELD_KIND_U64) return {str(e.key), static_cast<std::int64_t>(v.value.u64)};
  // A byte string nested in a table need not be UTF-8; replacing what is not keeps the header
  // readable instead of throwing out of the I/O thread.
  return {str(e.key), toJson(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

/// Strings as UTF-8, integers as signed 64-bit. The table points into `fields` and `entries`.
amqp_table_t encodeTable(const std::vector<MessageHeader>& fields,
                         std::vector<amqp_table_entry_t>& entries) {
  entries.clear();
  entries.reserve(fields.size());
  for (const auto& f : fields) {
    amqp_table_entry_t e{};
    e.key = bytes(f.name);
    if (const auto* s = std::get_if<std::string>(&f.value)) {
      e.value.kind = AMQP_FIELD_KIND_UTF8;
      e.value.value.bytes = bytes(*s);
    } else {
      e.value.kind = AMQP_FIELD_KIND_I64;
      e.value.value.i64 = std::get<std::int64_t>(f.value);
    }
    entries.push_back(e);
  }
  if (entries.empty()) return amqp_empty_table;
  return amqp_table_t{static_cast<int>(entries.size()), entries.data()};
}

/// A short-string property: set (with its flag) unless `value` is empty, which means "not set".
void setText(amqp_basic_properties_t& p, amqp_flags_t flag, amqp_bytes_t& field,
             const std::string& value) {
  if (value.empty()) return;
  p._flags |= flag;
  field = bytes(value);
}

}  // namespace

std::vector<MessageHeader> readHeaders(const amqp_table_t& table) {
  std::vector<MessageHeader> headers;
  headers.reserve(static_cast<std::size_t>(table.num_entries));
  for (int i = 0; i < table.num_entries; ++i) headers.push_back(toHeader(table.entries[i]));
  return headers;
}

const amqp_basic_properties_t* PublishProperties::set(const BrokerMessage& m) {
  props_ = amqp_basic_properties_t{};
  props_._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
  props_.delivery_mode = m.persistent ? AMQP_DELIVERY_PERSISTENT : AMQP_DELIVERY_NONPERSISTENT;
  setText(props_, AMQP_BASIC_CONTENT_TYPE_FLAG, props_.content_type, m.contentType);
  setText(props_, AMQP_BASIC_MESSAGE_ID_FLAG, props_.message_id, m.messageId);
  setText(props_, AMQP_BASIC_TYPE_FLAG, props_.type, m.type);
  setText(props_, AMQP_BASIC_APP_ID_FLAG, props_.app_id, m.appId);
  setText(props_, AMQP_BASIC_CORRELATION_ID_FLAG, props_.correlation_id, m.correlationId);
  if (m.timestampSeconds) {
    props_._flags |= AMQP_BASIC_TIMESTAMP_FLAG;
    props_.timestamp = static_cast<std::uint64_t>(*m.timestampSeconds);
  }
  // No headers flag for an empty table: the message then carries no headers field at all.
  if (!m.headers.empty()) {
    props_._flags |= AMQP_BASIC_HEADERS_FLAG;
    props_.headers = encodeTable(m.headers, entries_);
  }
  return &props_;
}

ArgumentTable& ArgumentTable::text(std::string key, std::string value) {
  items_.push_back({std::move(key), std::move(value)});
  return *this;
}

ArgumentTable& ArgumentTable::number(std::string key, std::int64_t value) {
  items_.push_back({std::move(key), value});
  return *this;
}

amqp_table_t ArgumentTable::table() {
  return encodeTable(items_, entries_);
}

}  // namespace orders::rabbitmq
