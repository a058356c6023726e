#pragma once
// Base64url (RFC 4648 §5) as JWS compact serialisation uses it (RFC 7515 §2): no padding, and
// decoding is strict, so that one token has exactly one spelling: '=' padding, characters outside
// the url-safe alphabet, a length of 4k+1 and non-zero unused trailing bits are all refused.

#include <optional>
#include <string>
#include <string_view>

namespace orders::auth {

std::string base64UrlEncode(std::string_view bytes);

/// The decoded bytes, or nullopt when `text` is not canonical unpadded base64url.
std::optional<std::string> base64UrlDecode(std::string_view text);

}  // namespace orders::auth
