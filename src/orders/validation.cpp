#include "orders/validation.hpp"

#include "common/ids.hpp"

namespace orders {
namespace {

// ISO 3166-1 alpha-2 officially assigned codes, two letters each.
constexpr std::string_view kCountryCodes =
    "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZCACCCDCFCGCHCICK"
    "CLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGS"
    "GTGUGWGYHKHMHNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULV"
    "LYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPM"
    "PNPRPSPTPWPYQARERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTMTNTOTR"
    "TTTVTWTZUAUGUMUSUYUZVAVCVEVGVIVNVUWFWSYEYTZAZMZW";

bool isValidUtf8WithoutControls(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    int continuation = 0;
    std::uint32_t codePoint = 0;
    if (byte < 0x80) {
      if (byte < 0x20 || byte == 0x7f) return false;
      ++i;
      continue;
    } else if ((byte & 0xe0) == 0xc0) {
      continuation = 1, codePoint = byte & 0x1f;
    } else if ((byte & 0xf0) == 0xe0) {
      continuation = 2, codePoint = byte & 0x0f;
    } else if ((byte & 0xf8) == 0xf0) {
      continuation = 3, codePoint = byte & 0x07;
    } else {
      return false;
    }
    if (i + continuation >= text.size()) return false;
    for (int k = 1; k <= continuation; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    // Reject overlong forms, surrogates and values beyond Unicode.
    if ((continuation == 1 && codePoint < 0x80) || (continuation == 2 && codePoint < 0x800) ||
        (continuation == 3 && codePoint < 0x10000) || codePoint > 0x10ffff ||
        (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
      return false;
    }
    i += continuation + 1;
  }
  return true;
}

}  // namespace

Status checkText(std::string_view value, const std::string& field, std::size_t maxLength) {
  if (value.empty()) return invalid(field, "must not be empty");
  return checkOptionalText(value, field, maxLength);
}

Status checkOptionalText(std::string_view value, const std::string& field, std::size_t maxLength) {
  if (value.size() > maxLength) {
    return invalid(field, "must be at most " + std::to_string(maxLength) + " bytes long");
  }
  if (!isValidUtf8WithoutControls(value)) {
    return invalid(field, "must be valid UTF-8 without control characters");
  }
  return okStatus();
}

Status checkEmail(std::string_view value, const std::string& field) {
  if (auto status = checkText(value, field, 254); !status) return status;
  const auto at = value.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= value.size() ||
      value.find('@', at + 1) != std::string_view::npos ||
      value.find(' ') != std::string_view::npos) {
    return invalid(field, "must be an e-mail address like name@example.com");
  }
  return okStatus();
}

Status checkCountry(std::string_view value, const std::string& field) {
  if (value.size() == 2) {
    for (std::size_t i = 0; i < kCountryCodes.size(); i += 2) {
      if (kCountryCodes.substr(i, 2) == value) return okStatus();
    }
  }
  return invalid(field, "must be an ISO 3166-1 alpha-2 country code like \"US\"");
}

Status checkUuid(std::string_view value, const std::string& field) {
  if (!isUuid(value))
    return invalid(field, "must be a UUID like 3fa85f64-5717-4562-b3fc-2c963f66afa6");
  return okStatus();
}

}  // namespace orders
