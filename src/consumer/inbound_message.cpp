#include "consumer/inbound_message.hpp"

#include <charconv>

#include "events/exact_json.hpp"

namespace orders {

std::optional<std::string> InboundMessage::writtenNumber(const std::string& pointer) const {
  const nlohmann::json* node = &payload;
  // Walk the pointer by hand: json_pointer throws on syntax it does not like.
  std::size_t start = 0;
  while (start < pointer.size()) {
    if (pointer[start] != '/') return std::nullopt;
    auto end = pointer.find('/', start + 1);
    if (end == std::string::npos) end = pointer.size();
    std::string token = pointer.substr(start + 1, end - start - 1);
    for (std::size_t i = 0; (i = token.find('~', i)) != std::string::npos; ++i) {
      if (i + 1 >= token.size() || (token[i + 1] != '0' && token[i + 1] != '1'))
        return std::nullopt;
      token.replace(i, 2, token[i + 1] == '0' ? "~" : "/");
    }
    if (node->is_object()) {
      auto it = node->find(token);
      if (it == node->end()) return std::nullopt;
      node = &*it;
    } else if (node->is_array()) {
      std::size_t index = 0;
      const auto [last, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
      if (ec != std::errc() || last != token.data() + token.size() || index >= node->size()) {
        return std::nullopt;
      }
      node = &(*node)[index];
    } else {
      return std::nullopt;
    }
    start = end;
  }
  if (!node->is_number()) return std::nullopt;
  if (auto it = payloadNumberText.find(pointer); it != payloadNumberText.end()) return it->second;
  return numberAsText(*node);
}

}  // namespace orders
