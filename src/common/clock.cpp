#include "common/clock.hpp"

#include <cstdio>
#include <ctime>

namespace orders {

void Clock::sleepUntil(SteadyTime deadline) const {
  std::mutex mutex;
  std::condition_variable never;
  std::unique_lock lock(mutex);
  waitUntil(lock, never, deadline, [] { return false; });
}

std::string formatIso8601(Timestamp t) {
  const auto ms = t.time_since_epoch().count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buffer;
}

bool parseIso8601(const std::string& text, Timestamp& out) {
  int year, month, day, hour, minute, second, consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &second, &consumed) != 6 ||
      consumed != 19) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  std::size_t pos = 19;
  int millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    int scale = 100;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 3) millis += (text[pos] - '0') * scale, scale /= 10;
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return false;
  }
  const std::string zone = text.substr(pos);
  if (zone != "Z" && zone != "+00:00") return false;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t seconds = timegm(&tm);
  out = Timestamp(std::chrono::milliseconds(static_cast<std::int64_t>(seconds) * 1000 + millis));
  return true;
}

}  // namespace orders
