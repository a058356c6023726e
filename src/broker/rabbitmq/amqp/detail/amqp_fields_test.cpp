// The AMQP field conversions without a broker: what PublishProperties writes, readProperties
// reads back; nested tables and arrays (x-death) survive as JSON text; argument tables.

#include "broker/rabbitmq/amqp/detail/amqp_fields.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "broker/rabbitmq/amqp_client.hpp"  // Delivery

namespace orders::rabbitmq {
namespace {

using Value = decltype(MessageHeader::value);

BrokerMessage relayLikeMessage() {
  BrokerMessage m;
  m.messageId = "msg-1";
  m.timestampSeconds = 1700000000;
  m.contentType = "application/json";
  m.type = "OrderCreatedEvent";
  m.appId = "OrderService";
  m.correlationId = "corr-1";
  m.headers = {{"messageVersion", std::string("1.0")},
               {"partitionKey", std::string("order-1")},
               {"sequence", std::int64_t{42}}};
  return m;
}

amqp_field_value_t utf8(const char* s) {
  amqp_field_value_t v{};
  v.kind = AMQP_FIELD_KIND_UTF8;
  v.value.bytes = amqp_cstring_bytes(s);
  return v;
}

amqp_table_entry_t entry(const char* key, amqp_field_value_t value) {
  return amqp_table_entry_t{amqp_cstring_bytes(key), value};
}

const MessageHeader& find(const std::vector<MessageHeader>& headers, const std::string& name) {
  for (const auto& h : headers)
    if (h.name == name) return h;
  throw std::runtime_error("no header " + name);
}

TEST(AmqpFields, WhatIsPublishedIsReadBack) {
  const BrokerMessage m = relayLikeMessage();
  PublishProperties props(m);
  const amqp_basic_properties_t& p = *props.get();
  EXPECT_EQ(p.delivery_mode, AMQP_DELIVERY_PERSISTENT);
  ASSERT_EQ(p.headers.num_entries, 3);
  EXPECT_EQ(p.headers.entries[0].value.kind, AMQP_FIELD_KIND_UTF8);
  EXPECT_EQ(p.headers.entries[2].value.kind, AMQP_FIELD_KIND_I64);

  Delivery r;  // AmqpClient's; the consumer's TransportDelivery names its members alike
  EXPECT_EQ(readProperties(p, r), std::optional<std::uint8_t>(AMQP_DELIVERY_PERSISTENT));
  EXPECT_EQ(r.contentType, "application/json");
  EXPECT_EQ(r.messageId, "msg-1");
  EXPECT_EQ(r.type, "OrderCreatedEvent");
  EXPECT_EQ(r.appId, "OrderService");
  EXPECT_EQ(r.correlationId, "corr-1");
  EXPECT_EQ(r.timestampSeconds, 1700000000);
  EXPECT_EQ(r.headers, m.headers);
}

TEST(AmqpFields, UnsetPropertiesAreNotOnTheWireAndAReusedInstanceForgetsThePreviousMessage) {
  PublishProperties props;
  props.set(relayLikeMessage());
  BrokerMessage bare;
  bare.persistent = false;
  const amqp_basic_properties_t& p = *props.set(bare);
  EXPECT_EQ(p._flags, static_cast<amqp_flags_t>(AMQP_BASIC_DELIVERY_MODE_FLAG));
  EXPECT_EQ(p.delivery_mode, AMQP_DELIVERY_NONPERSISTENT);

  Delivery r;  // AmqpClient's; the consumer's TransportDelivery names its members alike
  EXPECT_EQ(readProperties(p, r), std::optional<std::uint8_t>(AMQP_DELIVERY_NONPERSISTENT));
  EXPECT_TRUE(r.messageId.empty());
  EXPECT_FALSE(r.timestampSeconds);
  EXPECT_TRUE(r.headers.empty());

  amqp_basic_properties_t none{};
  EXPECT_EQ(readProperties(none, r), std::nullopt);
}

TEST(AmqpFields, IntegersOfEveryWidthAreIntegersAndOtherKindsTheirJsonText) {
  std::vector<amqp_table_entry_t> e(7);
  e[0] = entry("u8", amqp_field_value_t{AMQP_FIELD_KIND_U8, {}});
  e[0].value.value.u8 = 200;
  e[1] = entry("i32", amqp_field_value_t{AMQP_FIELD_KIND_I32, {}});
  e[1].value.value.i32 = -7;
  e[2] = entry("u64", amqp_field_value_t{AMQP_FIELD_KIND_U64, {}});
  e[2].value.value.u64 = 9;
  e[3] = entry("flag", amqp_field_value_t{AMQP_FIELD_KIND_BOOLEAN, {}});
  e[3].value.value.boolean = 1;
  e[4] = entry("ratio", amqp_field_value_t{AMQP_FIELD_KIND_F64, {}});
  e[4].value.value.f64 = 1.5;
  e[5] = entry("at", amqp_field_value_t{AMQP_FIELD_KIND_TIMESTAMP, {}});
  e[5].value.value.u64 = 1700000000;
  e[6] = entry("nothing", amqp_field_value_t{AMQP_FIELD_KIND_VOID, {}});
  const auto headers = readHeaders(amqp_table_t{static_cast<int>(e.size()), e.data()});
  ASSERT_EQ(headers.size(), e.size());
  EXPECT_EQ(find(headers, "u8").value, (Value{std::int64_t{200}}));
  EXPECT_EQ(find(headers, "i32").value, (Value{std::int64_t{-7}}));
  EXPECT_EQ(find(headers, "u64").value, (Value{std::int64_t{9}}));
  EXPECT_EQ(find(headers, "flag").value, (Value{std::string("true")}));
  EXPECT_EQ(find(headers, "ratio").value, (Value{std::string("1.5")}));
  EXPECT_EQ(find(headers, "at").value, (Value{std::string("1700000000")}));
  EXPECT_EQ(find(headers, "nothing").value, (Value{std::string("null")}));
}

TEST(AmqpFields, AnXDeathArrayOfTablesIsKeptAsJsonText) {
  amqp_field_value_t count{AMQP_FIELD_KIND_I64, {}};
  count.value.i64 = 2;
  amqp_field_value_t time{AMQP_FIELD_KIND_TIMESTAMP, {}};
  time.value.u64 = 1700000000;
  amqp_field_value_t keys{AMQP_FIELD_KIND_ARRAY, {}};
  amqp_field_value_t key = utf8("OrderCreatedEvent");
  keys.value.array = amqp_array_t{1, &key};
  amqp_table_entry_t death[] = {entry("count", count), entry("reason", utf8("rejected")),
                                entry("queue", utf8("orders.notification")), entry("time", time),
                                entry("routing-keys", keys)};
  amqp_field_value_t table{AMQP_FIELD_KIND_TABLE, {}};
  table.value.table = amqp_table_t{5, death};
  amqp_field_value_t deaths{AMQP_FIELD_KIND_ARRAY, {}};
  deaths.value.array = amqp_array_t{1, &table};
  amqp_table_entry_t headers[] = {entry("x-death", deaths),
                                  entry("x-first-death-reason", utf8("rejected"))};

  const auto read = readHeaders(amqp_table_t{2, headers});
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(std::get<std::string>(find(read, "x-first-death-reason").value), "rejected");
  const auto json = nlohmann::json::parse(std::get<std::string>(find(read, "x-death").value));
  EXPECT_EQ(json, nlohmann::json::parse(R"([{"count": 2, "reason": "rejected",
      "queue": "orders.notification", "time": 1700000000,
      "routing-keys": ["OrderCreatedEvent"]}])"));
}

TEST(AmqpFields, ANestedByteStringThatIsNotUtf8IsReplacedNotThrown) {
  static const char kBinary[] = {'a', static_cast<char>(0xff), 'b'};
  amqp_field_value_t raw{AMQP_FIELD_KIND_BYTES, {}};
  raw.value.bytes = amqp_bytes_t{sizeof kBinary, const_cast<char*>(kBinary)};
  amqp_field_value_t array{AMQP_FIELD_KIND_ARRAY, {}};
  array.value.array = amqp_array_t{1, &raw};
  amqp_table_entry_t headers[] = {entry("blobs", array)};
  const auto read = readHeaders(amqp_table_t{1, headers});
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(std::get<std::string>(read[0].value),
            "[\"a\xEF\xBF\xBD"
            "b\"]");
}

TEST(AmqpFields, ArgumentTablesHoldStringsAndIntegers) {
  ArgumentTable empty;
  EXPECT_EQ(empty.table().num_entries, 0);

  ArgumentTable args;
  args.text("x-queue-type", "quorum").number("x-message-ttl", 5000);
  const amqp_table_t t = args.table();
  ASSERT_EQ(t.num_entries, 2);
  EXPECT_EQ(str(t.entries[0].key), "x-queue-type");
  EXPECT_EQ(t.entries[0].value.kind, AMQP_FIELD_KIND_UTF8);
  EXPECT_EQ(str(t.entries[0].value.value.bytes), "quorum");
  EXPECT_EQ(t.entries[1].value.kind, AMQP_FIELD_KIND_I64);
  EXPECT_EQ(t.entries[1].value.value.i64, 5000);
  EXPECT_EQ(readHeaders(t), (std::vector<MessageHeader>{{"x-queue-type", std::string("quorum")},
                                                        {"x-message-ttl", std::int64_t{5000}}}));
}

}  // namespace
}  // namespace orders::rabbitmq
