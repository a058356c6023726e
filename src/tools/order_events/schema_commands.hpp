#pragma once
// `order-events schema ...` and `order-events asyncapi`: the event contracts as a checked product
// (docs/events/versioning.md).
//
//   order-events schema check OLD.json NEW.json [--json]
//       Compares two versions of one message schema (events/schema_compatibility.hpp) and prints
//       every change with its JSON pointer: "breaking <kind> <pointer>: <message>" or
//       "additive ...". Exit 0: NEW may be published as a minor version of OLD; 1: a breaking
//       change (NEW needs a new major version); 2: bad input (unreadable file, not JSON, a $ref
//       that resolves to nothing...).
//   order-events schema check-all [SCHEMA_DIR]                            (default: schemas)
//       Loads every schema (as the service does), compares every version of every message type
//       with the previous version of the same major (a breaking change inside a major fails,
//       naming the file and the pointer; between majors anything goes), and verifies
//       SCHEMA_DIR/schemas.lock (a published file that was edited or removed fails, naming it,
//       and so does a file that is not in the lock yet). Exit 0 all good, 1 a check failed,
//       2 bad input (a schema the service could not load, a malformed lock).
//   order-events schema lock [SCHEMA_DIR]
//       Adds the files that are not in SCHEMA_DIR/schemas.lock yet and rewrites it sorted. Never
//       changes the hash of a file already there: an edited published file fails (exit 1) and
//       the lock is left as it was.
//   order-events schema validate [--schemas DIR] [--json] FILE... | -
//       Validates messages (whole StandardMessage envelopes) as the service does, through
//       SchemaRegistry: each FILE holds one message; `-` reads one message per line from stdin.
//       One line per message ("<source>: valid" or "<source>: invalid: <pointer>: <rule>", or
//       with --json {"source","valid","error"}). Exit 0 all valid, 1 some invalid, 2 bad input.
//   order-events asyncapi [--schemas DIR] [--topology FILE] [--schema-ref-prefix P]
//       Prints the AsyncAPI 3.0 document of the events (docs/asyncapi.yaml is this output, and
//       a test compares them): regenerate with `order-events asyncapi > docs/asyncapi.yaml`.
//
// Errors go to `err`, results to `out`. As for the dlq commands, a failing command throws
// CLI::RuntimeError(code) from its callback; runOrderEvents() returns that code.

#include <CLI/CLI.hpp>
#include <iostream>

namespace orders::tools {

/// Adds `schema` (check, check-all, lock, validate) and `asyncapi` to `app`. `out` and `err`
/// must outlive `app`.
void addSchemaCommands(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

}  // namespace orders::tools
