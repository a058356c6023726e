// libFuzzer target: arbitrary bytes as the JSON body of every command, through the same entry
// the HTTP layer uses (parseJsonObject, then each body reader), and as the header values and
// request targets the server judges. Nothing may throw, crash or trip a sanitizer; the old
// parser's uncaught out_of_range on 1e400 is the kind of bug this finds in seconds.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/decimal.hpp"
#include "http/header_rules.hpp"
#include "http/json_body.hpp"
#include "http/request_bodies.hpp"
#include "orders/money.hpp"

namespace {

using namespace orders;
using namespace orders::http;

void readEveryBody(const JsonReader& body) {
  (void)readNewOrder(body);
  (void)readOrderPatch(body);
  (void)readPaymentResult(body);
  (void)readStatusChange(body);
  (void)readCancellation(body);
  (void)readShipment(body);
  (void)readDelivery(body);
  if (auto refund = readRefundRequest(body)) {
    for (const char* code : {"USD", "JPY", "KWD"}) {
      (void)toMinorUnits(refund->amount, Currency::parse(code).value(), "amount");
    }
  }
  (void)readRefundProcessed(body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  Request request;
  request.headers["content-type"] = "application/json";
  request.body = text;
  ExactJson document;
  if (!parseJsonObject(request, document)) readEveryBody(JsonReader(document));

  (void)parseIfMatch(text);
  (void)judgeTransferEncoding(text);
  (void)isValidHost(text);
  if (auto decimal = parseDecimalText(text)) (void)scaleToInteger(*decimal, 2, kMaxMinorUnits);
  Request target;
  target.target = text;
  (void)parseTarget(target);
  return 0;
}
