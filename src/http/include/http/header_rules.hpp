#pragma once
// The header rules of RFC 9110/9112 the server and the API enforce, on plain strings so they are
// unit-tested and fuzzed without a socket: request framing (Transfer-Encoding), Host, and the
// entity tags of If-Match.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace orders::http {

enum class TransferCoding {
  kChunked,            // exactly "chunked": the only coding we decode
  kChunkedNotFinal,    // chunked absent or not last: the body length is unknown -> 400 + close
                       // (RFC 9112 §6.3), or a request could hide inside the body
  kUnsupportedCoding,  // "gzip, chunked" and the like: framed, but we do not decode -> 501
};
/// Judges the Transfer-Encoding field value (all field lines joined with ",").
TransferCoding judgeTransferEncoding(std::string_view value);

/// A Host field value we accept: uri-host [":" port] (RFC 9112 §3.2, RFC 3986 §3.2.2), not empty.
bool isValidHost(std::string_view value);

/// What an If-Match field accepts (RFC 9110 §13.1.1).
struct IfMatch {
  bool any = false;  // "*": any current version
  /// The versions named by strong entity tags of this API ("3" -> 3). A weak tag (W/"3") never
  /// matches (If-Match compares strongly), nor does an opaque tag this API never issued
  /// ("bogus"): neither adds a version, and a list without any matches no version (412).
  std::vector<std::int64_t> versions;
};
/// nullopt when the value is not "*" or a list of entity tags: a malformed header (400).
std::optional<IfMatch> parseIfMatch(std::string_view value);

}  // namespace orders::http
