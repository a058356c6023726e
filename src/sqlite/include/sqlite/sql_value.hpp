#pragma once
// Values bound to and read from SQL by the SQLite adapters' generic statements (no sqlite3.h).

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace orders {

/// NULL, integer or text.
using SqlValue = std::variant<std::monostate, std::int64_t, std::string>;
using SqlRow = std::vector<SqlValue>;

}  // namespace orders
