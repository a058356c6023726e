#include "http/json_body.hpp"

#include <cstdint>

#include "common/decimal.hpp"
#include "http/problem.hpp"

namespace orders::http {
namespace {

std::string lowerCase(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool isJsonMediaType(const std::string& contentType) {
  const std::string value = lowerCase(contentType);
  const auto semicolon = value.find(';');
  std::string type = value.substr(0, semicolon);
  while (!type.empty() && type.back() == ' ') type.pop_back();
  if (type != "application/json" &&
      !(type.starts_with("application/") && type.ends_with("+json"))) {
    return false;
  }
  if (semicolon == std::string::npos) return true;
  const std::string parameters = value.substr(semicolon + 1);
  return parameters.find("charset") == std::string::npos ||
         parameters.find("utf-8") != std::string::npos;
}

const char* typeName(const nlohmann::json& value) {
  return value.type_name();
}

}  // namespace

std::vector<std::string> BodyLimits::defaultChangeContextKeys() {
  return {"paymentTransactionId",
          "paymentFailureCode",
          "paymentGatewayMessage",
          "fulfillmentHoldReason",
          "pickupLocationId",
          "pickupReadyBy",
          "shipmentId",
          "warehouse",
          "carrier",
          "trackingNumber"};
}

const BodyLimits& JsonReader::defaultLimits() {
  static const BodyLimits limits;
  return limits;
}

std::optional<Response> parseJsonObject(const Request& request, ExactJson& out,
                                        std::size_t maxDepth) {
  const auto contentType = request.header("content-type");
  if (!contentType || !isJsonMediaType(*contentType)) {
    return problemResponse(415, "unsupported-media-type", "Unsupported media type",
                           "send the body as application/json (UTF-8)", "Content-Type");
  }
  auto parsed = parseExactJson(request.body, JsonLimits{maxDepth});
  if (!parsed) {
    std::string detail = "the body is not valid JSON: " + parsed.error().message;
    if (detail.find("nested deeper than") != std::string::npos)
      detail += " (limit --max-json-depth)";
    return problemResponse(400, "malformed-json", "Malformed JSON", detail, "");
  }
  if (!parsed->value.is_object()) {
    return problemResponse(
        400, "malformed-json", "Malformed JSON",
        std::string("the body must be a JSON object, not ") + typeName(parsed->value), "");
  }
  out = std::move(parsed).value();
  return std::nullopt;
}

std::string JsonReader::fieldPath(const std::string& key) const {
  return appendPointer(pointer_, key).substr(1);
}

bool JsonReader::has(const std::string& key) const {
  return raw(key) != nullptr;
}

const nlohmann::json* JsonReader::raw(const std::string& key) const {
  auto it = object_->find(key);
  return it == object_->end() || it->is_null() ? nullptr : &*it;
}

Result<std::string> JsonReader::string(const std::string& key) const {
  const auto* value = raw(key);
  if (!value) return invalid(fieldPath(key), "is required");
  if (!value->is_string()) {
    return invalid(fieldPath(key), std::string("must be a string, not ") + typeName(*value));
  }
  return value->get<std::string>();
}

Result<std::optional<std::string>> JsonReader::optionalString(const std::string& key) const {
  if (!has(key)) return std::optional<std::string>();
  auto value = string(key);
  if (!value) return value.error();
  return std::optional<std::string>(std::move(value).value());
}

Result<std::int64_t> JsonReader::integer(const std::string& key) const {
  const auto* value = raw(key);
  if (!value) return invalid(fieldPath(key), "is required");
  const auto written = document_->writtenNumber(*value, appendPointer(pointer_, key));
  if (!written) {
    return invalid(fieldPath(key), std::string("must be an integer, not ") + typeName(*value));
  }
  const auto whole = orders::wholeNumber(*written);
  switch (whole.failure) {
    case ScaleFailure::kNone:
      return whole.value;
    case ScaleFailure::kTooLarge:
      return invalid(fieldPath(key), "is too large");
    case ScaleFailure::kNotWhole:
      break;
  }
  return invalid(fieldPath(key), "must be a whole number, not " + *written);
}

Result<std::string> JsonReader::number(const std::string& key) const {
  const auto* value = raw(key);
  if (!value) return invalid(fieldPath(key), "is required");
  auto written = document_->writtenNumber(*value, appendPointer(pointer_, key));
  if (!written) {
    return invalid(fieldPath(key), std::string("must be a number, not ") + typeName(*value));
  }
  return std::move(*written);
}

Result<std::optional<bool>> JsonReader::optionalBool(const std::string& key) const {
  const auto* value = raw(key);
  if (!value) return std::optional<bool>();
  if (!value->is_boolean()) {
    return invalid(fieldPath(key), std::string("must be true or false, not ") + typeName(*value));
  }
  return std::optional<bool>(value->get<bool>());
}

Result<JsonReader> JsonReader::object(const std::string& key) const {
  const auto* value = raw(key);
  if (!value) return invalid(fieldPath(key), "is required");
  if (!value->is_object()) {
    return invalid(fieldPath(key), std::string("must be an object, not ") + typeName(*value));
  }
  return JsonReader(*document_, *value, appendPointer(pointer_, key), limits_);
}

Result<std::optional<std::vector<JsonReader>>> JsonReader::optionalObjects(
    const std::string& key) const {
  const auto* value = raw(key);
  if (!value) return std::optional<std::vector<JsonReader>>();
  if (!value->is_array()) return invalid(fieldPath(key), "must be an array");
  std::vector<JsonReader> elements;
  elements.reserve(value->size());
  const std::string pointer = appendPointer(pointer_, key);
  for (std::size_t i = 0; i < value->size(); ++i) {
    const std::string elementPointer = pointer + "/" + std::to_string(i);
    if (!(*value)[i].is_object()) return invalid(elementPointer.substr(1), "must be an object");
    elements.push_back(JsonReader(*document_, (*value)[i], elementPointer, limits_));
  }
  return std::optional<std::vector<JsonReader>>(std::move(elements));
}

}  // namespace orders::http
