#include "events/exact_json.hpp"

#include <vector>

namespace orders {
namespace {

using nlohmann::json;

/// Builds the DOM itself (rather than using nlohmann's) to see each number's text, to refuse
/// duplicate keys, and to bound the depth before anything is allocated for it.
class ExactJsonBuilder final : public nlohmann::json_sax<json> {
 public:
  explicit ExactJsonBuilder(JsonLimits limits) : limits_(limits) {}

  bool null() override { return scalar(nullptr); }
  bool boolean(bool value) override { return scalar(value); }
  bool number_integer(number_integer_t value) override { return scalar(value); }
  bool number_unsigned(number_unsigned_t value) override { return scalar(value); }
  bool number_float(number_float_t value, const string_t& text) override {
    result_.numberText.emplace(childPointer(), text);
    return scalar(value);
  }
  bool string(string_t& value) override { return scalar(std::move(value)); }
  bool binary(binary_t&) override {
    return fail("binary values are not JSON");  // only reachable from CBOR/MessagePack input
  }
  bool start_object(std::size_t) override { return open(json::object()); }
  bool key(string_t& key) override {
    if (containers_.back()->contains(key)) return fail("duplicate key \"" + key + "\"");
    keys_.back() = std::move(key);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(json::array()); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& error) override {
    // "[json.exception.out_of_range.406] number overflow parsing '1e400'": keep the message.
    std::string message = error.what();
    if (const auto bracket = message.find("] ");
        message.starts_with("[") && bracket != message.npos) {
      message.erase(0, bracket + 2);
    }
    error_ = message + " (at byte " + std::to_string(position) + ")";
    return false;
  }

  ExactJson take() { return std::move(result_); }
  const std::string& error() const { return error_; }

 private:
  /// The pointer of the value about to be added.
  std::string childPointer() const {
    std::string pointer;
    for (std::size_t level = 0; level < containers_.size(); ++level) {
      const json& container = *containers_[level];
      const bool innermost = level + 1 == containers_.size();
      if (container.is_array()) {
        // An open inner container is the last element of its parent.
        pointer += "/" + std::to_string(innermost ? container.size() : container.size() - 1);
      } else {
        pointer = appendPointer(pointer, keys_[level]);
      }
    }
    return pointer;
  }

  json* add(json value) {
    if (containers_.empty()) {
      result_.value = std::move(value);
      return &result_.value;
    }
    json& parent = *containers_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    json& slot = parent[keys_.back()];
    slot = std::move(value);
    return &slot;
  }
  bool scalar(json value) {
    add(std::move(value));
    return true;
  }

  bool open(json container) {
    if (containers_.size() >= limits_.maxDepth) {
      return fail("nested deeper than " + std::to_string(limits_.maxDepth) + " levels");
    }
    containers_.push_back(add(std::move(container)));
    keys_.emplace_back();
    return true;
  }
  bool close() {
    containers_.pop_back();
    keys_.pop_back();
    return true;
  }
  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  JsonLimits limits_;
  ExactJson result_;
  std::vector<json*> containers_;  // the open objects and arrays, outermost first
  std::vector<std::string> keys_;  // per open container: the key of its current member
  std::string error_;
};

}  // namespace

std::optional<std::string> ExactJson::writtenNumber(const nlohmann::json& node,
                                                    const std::string& pointer) const {
  if (!node.is_number()) return std::nullopt;
  if (auto it = numberText.find(pointer); it != numberText.end()) return it->second;
  return numberAsText(node);
}

Result<ExactJson> parseExactJson(std::string_view text, JsonLimits limits) {
  ExactJsonBuilder builder(limits);
  // sax_parse reports every failure through the builder (parse_error or a false return); it
  // does not throw for JSON input.
  if (!json::sax_parse(text, &builder)) {
    return invalid("", builder.error().empty() ? "not valid JSON" : builder.error());
  }
  return builder.take();
}

std::string numberAsText(const nlohmann::json& number) {
  if (number.is_number_unsigned()) return std::to_string(number.get<std::uint64_t>());
  if (number.is_number_integer()) return std::to_string(number.get<std::int64_t>());
  return number.dump();
}

std::string appendPointer(const std::string& pointer, std::string_view token) {
  std::string result = pointer + "/";
  for (char c : token) {
    if (c == '~') {
      result += "~0";
    } else if (c == '/') {
      result += "~1";
    } else {
      result += c;
    }
  }
  return result;
}

}  // namespace orders
