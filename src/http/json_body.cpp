#include "http/json_body.hpp"

#include <cmath>

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

std::optional<Response> parseJsonObject(const Request& request, nlohmann::json& out) {
  const auto contentType = request.header("content-type");
  if (!contentType || !isJsonMediaType(*contentType)) {
    return problemResponse(415, "unsupported-media-type", "Unsupported media type",
                           "send the body as application/json (UTF-8)", "Content-Type");
  }
  try {
    out = nlohmann::json::parse(request.body);
  } catch (const nlohmann::json::parse_error& e) {
    return problemResponse(400, "malformed-json", "Malformed JSON",
                           "the body is not valid JSON: " + std::string(e.what()), "");
  }
  if (!out.is_object()) {
    return problemResponse(400, "malformed-json", "Malformed JSON",
                           std::string("the body must be a JSON object, not ") + typeName(out), "");
  }
  return std::nullopt;
}

std::string JsonReader::fieldPath(const std::string& key) const {
  return path_.empty() ? key : path_ + "/" + key;
}

bool JsonReader::has(const std::string& key) const {
  auto it = object_.find(key);
  return it != object_.end() && !it->is_null();
}

const nlohmann::json* JsonReader::raw(const std::string& key) const {
  auto it = object_.find(key);
  return it == object_.end() || it->is_null() ? nullptr : &*it;
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
  if (value->is_number_integer()) {
    if (value->is_number_unsigned() &&
        value->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      return invalid(fieldPath(key), "is too large");
    }
    return value->get<std::int64_t>();
  }
  if (value->is_number_float()) {
    const double number = value->get<double>();
    // 2.0 is an integer written as a float; 2.5 or 1e300 is not one we accept.
    if (std::isfinite(number) && number == std::floor(number) && std::fabs(number) < 9e15) {
      return static_cast<std::int64_t>(number);
    }
    return invalid(fieldPath(key), "must be a whole number in range");
  }
  return invalid(fieldPath(key), std::string("must be an integer, not ") + typeName(*value));
}

Result<double> JsonReader::number(const std::string& key) const {
  const auto* value = raw(key);
  if (!value) return invalid(fieldPath(key), "is required");
  if (!value->is_number()) {
    return invalid(fieldPath(key), std::string("must be a number, not ") + typeName(*value));
  }
  return value->get<double>();
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
  return JsonReader(*value, fieldPath(key));
}

}  // namespace orders::http
