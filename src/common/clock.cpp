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

namespace {

// Writes `value` as exactly `width` decimal digits ending before `end`; returns the start.
char* writeDigits(char* end, unsigned value, int width) {
  for (int i = 0; i < width; ++i) {
    *--end = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return end;
}

}  // namespace

// Every event carries a few of these, so this is on the hot path of each order: the calendar
// comes from <chrono>'s civil-date arithmetic and the digits are written by hand, instead of
// gmtime_r and snprintf (~4,000 instructions a call, issue 10).
std::string formatIso8601(Timestamp t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day date(day);
  const int year = static_cast<int>(date.year());
  if (year < 0 || year > 9999) {
    // Outside what four digits hold: the slow, general way, as before.
    const auto ms = t.time_since_epoch().count();
    std::time_t seconds =
        static_cast<std::time_t>(floor<std::chrono::seconds>(t).time_since_epoch().count());
    const int millis = static_cast<int>(ms - static_cast<std::int64_t>(seconds) * 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return buffer;
  }
  const auto sinceMidnight = static_cast<unsigned>((t - day).count());  // milliseconds
  // "YYYY-MM-DDTHH:MM:SS.mmmZ"
  std::string text(24, '\0');
  char* const begin = text.data();
  writeDigits(begin + 4, static_cast<unsigned>(year), 4);
  begin[4] = '-';
  writeDigits(begin + 7, static_cast<unsigned>(date.month()), 2);
  begin[7] = '-';
  writeDigits(begin + 10, static_cast<unsigned>(date.day()), 2);
  begin[10] = 'T';
  writeDigits(begin + 13, sinceMidnight / 3'600'000, 2);
  begin[13] = ':';
  writeDigits(begin + 16, sinceMidnight / 60'000 % 60, 2);
  begin[16] = ':';
  writeDigits(begin + 19, sinceMidnight / 1000 % 60, 2);
  begin[19] = '.';
  writeDigits(begin + 23, sinceMidnight % 1000, 3);
  begin[23] = 'Z';
  return text;
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
