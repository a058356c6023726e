#pragma once
// schemas/schemas.lock: the SHA-256 of every published schema file, so that a published version
// is never edited (a change is a new version file). One line per file, sorted by file, in
// sha256sum's format ("<64 hex digits>  events/OrderCreatedEvent/1.0.json"), so that
// `cd schemas && sha256sum --check schemas.lock` works without the project's tools.
// `order-events schema check-all` verifies it, `order-events schema lock` adds new files to it.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "events/schema_catalog.hpp"

namespace orders {

inline constexpr const char* kSchemaLockFile = "schemas.lock";

struct SchemaLockEntry {
  std::string sha256;  // lowercase hex
  std::string file;    // relative to the schema directory, '/'-separated
};

/// SHA-256 of the file's bytes in lowercase hex; kInvalidArgument if it cannot be read.
Result<std::string> sha256OfFile(const std::string& path);

/// Parses the lock's text. kInvalidArgument naming the line ("schemas.lock line 3: ...") for a
/// line that is not "<64 hex>  <file>" and for a file listed twice. An empty text is no entries.
Result<std::vector<SchemaLockEntry>> parseSchemaLock(std::string_view text);

/// The lock's text: one line per entry, sorted by file (byte order), '\n' after each.
std::string formatSchemaLock(std::vector<SchemaLockEntry> entries);

struct SchemaLockProblem {
  enum class Kind {
    kEdited,     // the file's hash differs from the lock's: a published schema was changed
    kNotLocked,  // a schema file the lock does not list: new, and not yet added to the lock
    kDeleted,    // the lock lists a file that is gone: a published schema was removed
    kUnsorted,   // the lock's lines are not sorted by file
  };
  Kind kind;
  std::string file;
  std::string message;  // names the file and what to do
};

/// Compares the files of `directory` (as listed by listSchemaFiles) with `lock`. Empty when
/// every file is listed with its hash and the lock lists nothing else. kInvalidArgument only if a
/// file cannot be read.
Result<std::vector<SchemaLockProblem>> verifySchemaLock(const std::string& directory,
                                                        const std::vector<SchemaFile>& files,
                                                        const std::vector<SchemaLockEntry>& lock,
                                                        bool lockWasSorted = true);

/// Reads and parses <directory>/schemas.lock; a missing file is kNotFound.
Result<std::vector<SchemaLockEntry>> readSchemaLock(const std::string& directory,
                                                    bool* sorted = nullptr);

}  // namespace orders
