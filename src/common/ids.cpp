#include "common/ids.hpp"

#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace orders {

bool isUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::string IdGenerator::randomHex(std::size_t digits) {
  std::string hex;
  hex.reserve(digits);
  while (hex.size() < digits) {
    for (const char c : uuid()) {
      if (c != '-' && hex.size() < digits) hex.push_back(c);
    }
  }
  return hex;
}

namespace {

constexpr char kHex[] = "0123456789abcdef";

// Bumped in a forked child: every thread's buffer filled before the fork is stale there.
std::atomic<std::uint64_t> forkGeneration{0};

/// This thread's buffer of CSPRNG output.
class RandomBytes {
 public:
  /// The next `n` (<= kSize) random bytes, valid until the next call on this thread.
  const unsigned char* take(std::size_t n) {
    const std::uint64_t generation = forkGeneration.load(std::memory_order_relaxed);
    if (generation != generation_ || kSize - used_ < n) refill(generation);
    const unsigned char* bytes = buffer_.data() + used_;
    used_ += n;
    return bytes;
  }

 private:
  static constexpr std::size_t kSize = 4096;

  void refill(std::uint64_t generation) {
    static std::once_flag registered;
    std::call_once(registered, [] {
      pthread_atfork(nullptr, nullptr,
                     [] { forkGeneration.fetch_add(1, std::memory_order_relaxed); });
    });
    if (RAND_bytes(buffer_.data(), static_cast<int>(kSize)) != 1) {
      throw std::runtime_error("OpenSSL RAND_bytes failed: no randomness for ids");
    }
    generation_ = generation;
    used_ = 0;
  }

  std::array<unsigned char, kSize> buffer_{};
  std::size_t used_ = kSize;  // empty: the first take refills
  std::uint64_t generation_ = 0;
};

RandomBytes& threadRandomBytes() {
  thread_local RandomBytes bytes;
  return bytes;
}

}  // namespace

std::string timeOrderedUuid(Timestamp at, IdGenerator& ids) {
  std::string text = ids.uuid();
  const auto millis = std::max<std::int64_t>(at.time_since_epoch().count(), 0);
  // Hex digits 0-7 and 9-12 of "xxxxxxxx-xxxx-Vxxx-...": the 48-bit time, most significant first.
  static constexpr int kTimeDigits[12] = {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12};
  for (int i = 0; i < 12; ++i) {
    text[kTimeDigits[i]] = kHex[(static_cast<std::uint64_t>(millis) >> (44 - 4 * i)) & 0x0f];
  }
  text[14] = '7';
  return text;
}

std::string RandomIdGenerator::uuid() {
  // 122 random bits from OpenSSL's CSPRNG with the RFC 9562 version (4) and variant (10) bits.
  // Not libuuid: its uuid_generate_random re-seeds a fallback PRNG with getpid/getuid/time on
  // every call, which cost ~10% of the CPU of an order creation (6 ids each) in the benchmark.
  unsigned char raw[16];
  std::memcpy(raw, threadRandomBytes().take(sizeof raw), sizeof raw);
  raw[6] = static_cast<unsigned char>((raw[6] & 0x0f) | 0x40);
  raw[8] = static_cast<unsigned char>((raw[8] & 0x3f) | 0x80);
  std::string text;
  text.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text.push_back('-');
    text.push_back(kHex[raw[i] >> 4]);
    text.push_back(kHex[raw[i] & 0x0f]);
  }
  return text;
}

std::string RandomIdGenerator::randomHex(std::size_t digits) {
  std::string hex;
  hex.reserve(digits);
  while (hex.size() < digits) {
    const std::size_t bytes = std::min<std::size_t>((digits - hex.size() + 1) / 2, 64);
    const unsigned char* raw = threadRandomBytes().take(bytes);
    for (std::size_t i = 0; i < bytes && hex.size() < digits; ++i) {
      hex.push_back(kHex[raw[i] >> 4]);
      if (hex.size() < digits) hex.push_back(kHex[raw[i] & 0x0f]);
    }
  }
  return hex;
}

}  // namespace orders
