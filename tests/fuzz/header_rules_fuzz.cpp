// libFuzzer target: arbitrary bytes as the value of If-Match, Transfer-Encoding and Host
// (http/header_rules.hpp). Properties beyond "no crash": a parsed If-Match names only versions
// that are non-negative; a value that is a list of tags still parses when wrapped in whitespace
// and commas; "*" and a tag list are never both.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "http/header_rules.hpp"

using namespace orders::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string value(reinterpret_cast<const char*>(data), size);

  if (const auto ifMatch = parseIfMatch(value)) {
    if (ifMatch->any && !ifMatch->versions.empty()) std::abort();
    for (const auto version : ifMatch->versions) {
      if (version < 0) std::abort();
    }
    if (!ifMatch->any) {
      // Empty list elements and optional whitespace around them change nothing (RFC 9110 5.6.1).
      const auto padded = parseIfMatch(" ,\t" + value + ", ");
      if (!padded || padded->versions != ifMatch->versions) std::abort();
    }
  }
  (void)judgeTransferEncoding(value);
  if (isValidHost(value)) {
    // A valid Host has no whitespace, slash, '@' or control character in it.
    for (const char c : value) {
      if (c == ' ' || c == '/' || c == '@' || static_cast<unsigned char>(c) < 0x20) std::abort();
    }
  }
  return 0;
}
