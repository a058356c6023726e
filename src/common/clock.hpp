#pragma once
// Time as a dependency: the domain never reads the wall clock itself, so tests can pin it.

#include <chrono>
#include <cstdint>
#include <string>

namespace orders {

using Timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp now() const override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
  }
};

/// ISO 8601 UTC with milliseconds and 'Z': 2023-11-21T12:34:56.789Z
std::string formatIso8601(Timestamp t);
/// Parses the format above (also accepts no fraction or 1-9 fraction digits, and a 'Z' or
/// +00:00 offset). Returns false on anything else.
bool parseIso8601(const std::string& text, Timestamp& out);

}  // namespace orders
