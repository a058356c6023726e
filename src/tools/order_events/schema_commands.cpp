#include "schema_commands.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "asyncapi_document.hpp"
#include "broker/topology.hpp"
#include "events/schema_catalog.hpp"
#include "events/schema_compatibility.hpp"
#include "events/schema_lock.hpp"
#include "events/schema_registry.hpp"

namespace orders::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kFailed = 1;
constexpr int kBadInput = 2;

struct SchemaArgs {
  std::string oldFile;
  std::string newFile;
  std::string directory = "schemas";  // check-all, lock
  std::string schemas = "schemas";    // validate, asyncapi
  std::string topology = "config/topology.json";
  std::string schemaRefPrefix = "../schemas/";
  std::vector<std::string> inputs;
  bool json = false;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
};

[[noreturn]] void fail(const SchemaArgs& args, const std::string& command, int code,
                       const std::string& message) {
  *args.err << "order-events " << command << ": " << message << "\n";
  throw CLI::RuntimeError(code);
}

std::string path(const std::string& directory, const std::string& file) {
  return (fs::path(directory) / file).string();
}

/// "breaking bound-tightened /properties/items/items/properties/quantity/minimum: lower bound
/// tightened from minimum 1 to minimum 2 (at 1.1.json#/definitions/lineItem/...)"
std::string describe(const SchemaChange& c) {
  std::string text = std::string(c.breaking ? "breaking " : "additive ") + toString(c.kind) + " " +
                     (c.pointer.empty() ? "(the schema itself)" : c.pointer) + ": " + c.message;
  const auto hash = c.location.find('#');
  if (hash != std::string::npos && c.location.substr(hash + 1) != c.pointer) {
    text += " (at " + c.location + ")";
  }
  return text;
}

json toJson(const SchemaChange& c) {
  return {{"pointer", c.pointer},     {"location", c.location}, {"instancePath", c.instancePath},
          {"kind", toString(c.kind)}, {"breaking", c.breaking}, {"message", c.message}};
}

std::size_t countBreaking(const CompatibilityReport& report) {
  return static_cast<std::size_t>(std::count_if(report.changes.begin(), report.changes.end(),
                                                [](const SchemaChange& c) { return c.breaking; }));
}

void check(const SchemaArgs& args) {
  auto report = compareSchemaFiles(args.oldFile, args.newFile);
  if (!report) fail(args, "schema check", kBadInput, report.error().message);
  std::ostream& out = *args.out;
  const std::size_t breaking = countBreaking(*report);
  const std::size_t additive = report->changes.size() - breaking;
  if (args.json) {
    json changes = json::array();
    for (const auto& c : report->changes) changes.push_back(toJson(c));
    out << json{{"old", args.oldFile},
                {"new", args.newFile},
                {"breaking", breaking > 0},
                {"changes", changes}}
               .dump()
        << "\n";
  } else {
    for (const auto& c : report->changes) out << describe(c) << "\n";
    out << args.oldFile << " -> " << args.newFile << ": ";
    if (report->changes.empty()) {
      out << "no change that affects validation\n";
    } else if (breaking == 0) {
      out << "compatible (" << additive << " additive change" << (additive == 1 ? "" : "s")
          << "): may be published as a minor version\n";
    } else {
      out << "BREAKING (" << breaking << " breaking, " << additive
          << " additive): needs a new major version\n";
    }
  }
  if (breaking > 0) throw CLI::RuntimeError(kFailed);
}

void checkAll(const SchemaArgs& args) {
  const std::string command = "schema check-all";
  const std::string& dir = args.directory;
  std::ostream& out = *args.out;
  std::ostream& err = *args.err;
  // What the service would refuse to start with is bad input, not a compatibility question.
  if (auto registry = SchemaRegistry::load(dir); !registry) {
    fail(args, command, kBadInput, registry.error().message);
  }
  auto files = listSchemaFiles(dir);
  if (!files) fail(args, command, kBadInput, files.error().message);

  std::map<std::string, std::vector<SchemaFile>> byType;
  for (const auto& file : *files) {
    if (file.kind == SchemaFile::Kind::kPayload) byType[file.messageType].push_back(file);
  }
  int failures = 0;
  int steps = 0;
  for (auto& [type, versions] : byType) {
    std::sort(versions.begin(), versions.end(),
              [](const SchemaFile& a, const SchemaFile& b) { return a.version < b.version; });
    for (std::size_t i = 1; i < versions.size(); ++i) {
      const SchemaFile& previous = versions[i - 1];
      const SchemaFile& current = versions[i];
      if (current.version.major != previous.version.major) {
        // A new major may break anything; it is compared anyway so that the report says what
        // breaks, and a major with no breaking change is pointed out (it may be a change of
        // meaning, which no checker sees, so it is not refused).
        auto report = compareSchemaFiles(path(dir, previous.file), path(dir, current.file));
        if (!report) fail(args, command, kBadInput, current.file + ": " + report.error().message);
        std::size_t breaking = 0;
        for (const auto& c : report->changes) breaking += c.breaking ? 1 : 0;
        out << current.file << ": new major version " << current.version.text() << ", "
            << (report->breaking()
                    ? "breaking from " + previous.version.text() + " (" + std::to_string(breaking) +
                          " breaking change" + (breaking == 1 ? "" : "s") +
                          "): accepted as a major version"
                    : "no breaking change from " + previous.version.text() +
                          ": accepted, but a minor version would do unless the meaning changed")
            << "\n";
        for (const auto& c : report->changes) {
          if (c.breaking) out << "  " << describe(c) << "\n";
        }
        continue;
      }
      ++steps;
      auto report = compareSchemaFiles(path(dir, previous.file), path(dir, current.file));
      if (!report) fail(args, command, kBadInput, current.file + ": " + report.error().message);
      if (report->breaking()) {
        ++failures;
        err << "order-events " << command << ": " << current.file << ": breaking change from "
            << previous.version.text() << " inside major version " << current.version.major
            << " (a breaking change needs a new major version, " << current.version.major + 1
            << ".0.json):\n";
        for (const auto& c : report->changes) {
          if (c.breaking) err << "  " << current.file << " " << describe(c) << "\n";
        }
        continue;
      }
      out << current.file << ": compatible with " << previous.version.text() << " ("
          << report->changes.size() << " additive change"
          << (report->changes.size() == 1 ? "" : "s") << ")\n";
      for (const auto& c : report->changes) out << "  " << describe(c) << "\n";
    }
  }

  bool sorted = true;
  auto lock = readSchemaLock(dir, &sorted);
  if (!lock && lock.error().code != ErrorCode::kNotFound) {
    fail(args, command, kBadInput, lock.error().message);
  }
  if (!lock) {
    ++failures;
    err << "order-events " << command << ": " << lock.error().message
        << ": create it with `order-events schema lock " << dir << "`\n";
  } else {
    auto problems = verifySchemaLock(dir, *files, *lock, sorted);
    if (!problems) fail(args, command, kBadInput, problems.error().message);
    for (const auto& problem : *problems) {
      ++failures;
      err << "order-events " << command << ": " << kSchemaLockFile << ": " << problem.message
          << "\n";
    }
  }
  out << dir << ": " << files->size() << " schema files, " << byType.size() << " message types, "
      << steps << " minor version steps compared, " << kSchemaLockFile
      << (lock ? " checked" : " missing") << ": "
      << (failures == 0 ? std::string("all good") : std::to_string(failures) + " failed") << "\n";
  if (failures > 0) throw CLI::RuntimeError(kFailed);
}

void lock(const SchemaArgs& args) {
  const std::string command = "schema lock";
  const std::string& dir = args.directory;
  auto files = listSchemaFiles(dir);
  if (!files) fail(args, command, kBadInput, files.error().message);
  bool sorted = true;
  auto existing = readSchemaLock(dir, &sorted);
  std::vector<SchemaLockEntry> entries;
  if (existing) {
    entries = *existing;
  } else if (existing.error().code != ErrorCode::kNotFound) {
    fail(args, command, kBadInput, existing.error().message);
  }
  auto problems = verifySchemaLock(dir, *files, entries, sorted);
  if (!problems) fail(args, command, kBadInput, problems.error().message);
  std::vector<std::string> added;
  std::string refused;
  for (const auto& problem : *problems) {
    if (problem.kind == SchemaLockProblem::Kind::kNotLocked) {
      auto hash = sha256OfFile(path(dir, problem.file));
      if (!hash) fail(args, command, kBadInput, hash.error().message);
      entries.push_back({*hash, problem.file});
      added.push_back(problem.file);
    } else if (problem.kind != SchemaLockProblem::Kind::kUnsorted) {
      refused += "\n  " + problem.message;
    }
  }
  if (!refused.empty()) {
    fail(args, command, kFailed,
         std::string(kSchemaLockFile) +
             " left unchanged: a published schema is never edited or "
             "removed:" +
             refused);
  }
  std::ostream& out = *args.out;
  if (added.empty() && sorted && existing) {
    out << path(dir, kSchemaLockFile) << " is up to date (" << entries.size() << " files)\n";
    return;
  }
  std::ofstream file(path(dir, kSchemaLockFile), std::ios::binary | std::ios::trunc);
  file << formatSchemaLock(entries);
  if (!file.flush()) {
    fail(args, command, kFailed, "cannot write " + path(dir, kSchemaLockFile));
  }
  for (const auto& f : added) out << "added " << f << "\n";
  out << path(dir, kSchemaLockFile) << ": " << entries.size() << " files\n";
}

void validate(const SchemaArgs& args) {
  const std::string command = "schema validate";
  if (args.inputs.empty()) fail(args, command, kBadInput, "give message files, or - for stdin");
  auto registry = SchemaRegistry::load(args.schemas);
  if (!registry) fail(args, command, kBadInput, registry.error().message);
  std::ostream& out = *args.out;
  int invalid = 0;
  auto report = [&](const std::string& source, const std::string& text) {
    const Status status = registry->validateMessage(text);
    if (!status) ++invalid;
    if (args.json) {
      out << json{{"source", source},
                  {"valid", status.ok()},
                  {"error", status.ok() ? json(nullptr) : json(status.error().message)}}
                 .dump()
          << "\n";
    } else {
      out << source << ": " << (status.ok() ? "valid" : "invalid: " + status.error().message)
          << "\n";
    }
  };
  for (const auto& input : args.inputs) {
    if (input == "-") {
      std::string line;
      for (int number = 1; std::getline(std::cin, line); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        report("stdin:" + std::to_string(number), line);
      }
      continue;
    }
    std::ifstream in(input, std::ios::binary);
    if (!in) fail(args, command, kBadInput, input + ": cannot be read");
    std::stringstream text;
    text << in.rdbuf();
    report(input, text.str());
  }
  if (invalid > 0) throw CLI::RuntimeError(kFailed);
}

void asyncapi(const SchemaArgs& args) {
  auto topology = loadTopologyFile(args.topology);
  if (!topology) fail(args, "asyncapi", kBadInput, topology.error().message);
  AsyncApiInputs inputs = defaultAsyncApiInputs(args.schemas, *topology);
  inputs.schemaRefPrefix = args.schemaRefPrefix;
  auto yaml = renderAsyncApi(inputs);
  if (!yaml) fail(args, "asyncapi", kBadInput, yaml.error().message);
  *args.out << *yaml;
}

}  // namespace

void addSchemaCommands(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto args = std::make_shared<SchemaArgs>();
  args->out = &out;
  args->err = &err;

  CLI::App* schema = app.add_subcommand(
      "schema",
      "The message schemas: compatibility of versions, the lock of published files, validation "
      "(docs/events/versioning.md)");
  schema->require_subcommand(1);

  CLI::App* checkCmd = schema->add_subcommand(
      "check",
      "Compare two versions of one message schema. Exit 0: compatible (a minor version), "
      "1: breaking (needs a new major version), 2: bad input");
  checkCmd->add_option("OLD", args->oldFile, "The published version, e.g. .../1.0.json")
      ->required();
  checkCmd->add_option("NEW", args->newFile, "The candidate, e.g. .../1.1.json")->required();
  checkCmd->add_flag("--json", args->json, "Print one JSON object");
  checkCmd->callback([args] { check(*args); });

  CLI::App* checkAllCmd = schema->add_subcommand(
      "check-all",
      "Compare every version of every message type with the previous one of its major, and "
      "verify schemas.lock. Exit 0 all good, 1 a check failed, 2 bad input");
  checkAllCmd->add_option("SCHEMA_DIR", args->directory, "The schema directory")
      ->capture_default_str();
  checkAllCmd->callback([args] { checkAll(*args); });

  CLI::App* lockCmd = schema->add_subcommand(
      "lock", "Add new schema files to schemas.lock (never changes the hash of a published file)");
  lockCmd->add_option("SCHEMA_DIR", args->directory, "The schema directory")->capture_default_str();
  lockCmd->callback([args] { lock(*args); });

  CLI::App* validateCmd = schema->add_subcommand(
      "validate",
      "Validate messages (StandardMessage envelopes) as the service does. Exit 0 all valid, "
      "1 some invalid, 2 bad input");
  validateCmd->add_option("MESSAGE", args->inputs, "Files of one message each; - reads JSON lines")
      ->required();
  validateCmd->add_option("--schemas", args->schemas, "The schema directory")
      ->envname("ORDER_EVENTS_SCHEMAS")
      ->capture_default_str();
  validateCmd->add_flag("--json", args->json, "One JSON object per message");
  validateCmd->callback([args] { validate(*args); });

  CLI::App* asyncapiCmd = app.add_subcommand(
      "asyncapi",
      "Print the AsyncAPI 3.0 document of the events (docs/asyncapi.yaml) from the schemas and "
      "the topology");
  asyncapiCmd->add_option("--schemas", args->schemas, "The schema directory")
      ->envname("ORDER_EVENTS_SCHEMAS")
      ->capture_default_str();
  asyncapiCmd->add_option("--topology", args->topology, "Topology file (JSON, see docs/broker.md)")
      ->envname("ORDER_EVENTS_TOPOLOGY")
      ->capture_default_str();
  asyncapiCmd
      ->add_option("--schema-ref-prefix", args->schemaRefPrefix,
                   "How the document refers to schema files: <prefix><file in the schema "
                   "directory>")
      ->capture_default_str();
  asyncapiCmd->callback([args] { asyncapi(*args); });
}

}  // namespace orders::tools
