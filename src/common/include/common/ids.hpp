#pragma once
// Strong identifier types and their generator. Bare strings are easy to mix up (an orderId passed
// as a userId compiles); these do not.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace orders {

template <typename Tag>
class Id {
 public:
  Id() = default;
  explicit Id(std::string value) : value_(std::move(value)) {}
  const std::string& str() const { return value_; }
  bool empty() const { return value_.empty(); }
  friend bool operator==(const Id&, const Id&) = default;
  friend auto operator<=>(const Id&, const Id&) = default;

 private:
  std::string value_;
};

using OrderId = Id<struct OrderIdTag>;
using UserId = Id<struct UserIdTag>;
using MessageId = Id<struct MessageIdTag>;
using ShipmentId = Id<struct ShipmentIdTag>;
using RefundId = Id<struct RefundIdTag>;

/// True for the canonical 8-4-4-4-12 hexadecimal UUID text form (any version, either case).
bool isUuid(std::string_view text);

/// Source of new identifiers; injected so tests can make them predictable.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  /// A new random (version 4) UUID in lower case.
  virtual std::string uuid() = 0;
  /// `digits` random lower-case hexadecimal digits (trace and span ids). The default takes the
  /// digits of uuid()s, so a predictable generator gives predictable ids here too.
  virtual std::string randomHex(std::size_t digits);
};

/// A version 7 UUID (RFC 9562 section 5.7): the Unix milliseconds of `at` in the first 48 bits,
/// then the version, and the random bits of one `ids.uuid()` (74 of them for a v4 source). Ids
/// made at later milliseconds sort later, as text too, so a B-tree keyed by them grows at its
/// right edge instead of dirtying a random page for every insert; that was ~10 % of the service's
/// CPU per order on SQLite (issue 10), and is the classic cost of random keys on PostgreSQL.
/// It tells when the id was made, which for an order is no secret (its orderDate is in every
/// event). Times before 1970 count as 0.
std::string timeOrderedUuid(Timestamp at, IdGenerator& ids);

/// UUID v4 and hex ids from OpenSSL's CSPRNG (RAND_bytes). Thread-safe: each thread draws from
/// its own buffer of CSPRNG output, refilled 4 KiB at a time, because one RAND_bytes call costs
/// ~17,000 instructions whatever its size (OpenSSL 3's provider and DRBG overhead), which was
/// 8 % of an order creation's instructions with one call per id. A forked child discards the
/// buffers it inherited (pthread_atfork), so it never repeats its parent's ids. Throws
/// std::runtime_error only if the system has no randomness at all (the process cannot do anything
/// useful then).
class RandomIdGenerator final : public IdGenerator {
 public:
  std::string uuid() override;
  std::string randomHex(std::size_t digits) override;
};

}  // namespace orders
