#include "events/schema_compatibility.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

namespace orders {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

/// A schema that cannot be compared (bad $ref, not a schema...). Thrown from deep inside the
/// recursive walk and turned into kInvalidArgument by the two public functions, which are the
/// only callers: nothing else ever sees it.
struct BadSchema {
  std::string message;
};

[[noreturn]] void fail(std::string message) {
  throw BadSchema{std::move(message)};
}

/// RFC 6901 escaping of one reference token.
std::string escapeToken(std::string_view token) {
  std::string escaped;
  for (char c : token) {
    if (c == '~') {
      escaped += "~0";
    } else if (c == '/') {
      escaped += "~1";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string percentDecode(std::string_view text) {
  std::string decoded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      decoded += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      decoded += text[i];
    }
  }
  return decoded;
}

/// A value in messages: compact JSON, cut when long.
std::string show(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

struct Document {
  std::string path;  // "" for a schema given in memory
  json root;
};

/// The documents a comparison reads: the two schemas and every file their $refs name, each read
/// once.
class Documents {
 public:
  const Document* add(std::string path, json root) {
    auto doc = std::make_unique<Document>(Document{std::move(path), std::move(root)});
    const Document* raw = doc.get();
    owned_.push_back(std::move(doc));
    if (!raw->path.empty()) byPath_[raw->path] = raw;
    return raw;
  }

  const Document* load(const std::string& path) {
    if (const auto it = byPath_.find(path); it != byPath_.end()) return it->second;
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path + ": cannot be read");
    std::stringstream text;
    text << in.rdbuf();
    json root = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) fail(path + ": is not valid JSON");
    return add(path, std::move(root));
  }

 private:
  std::vector<std::unique_ptr<Document>> owned_;
  std::map<std::string, const Document*> byPath_;
};

/// A (sub)schema: its value, the document it is in and its pointer there.
struct Node {
  const json* value = nullptr;
  const Document* doc = nullptr;
  std::string pointer;

  std::string location() const { return (doc != nullptr ? doc->path : "") + "#" + pointer; }
  const json* get(const char* keyword) const {
    if (!value->is_object()) return nullptr;
    const auto it = value->find(keyword);
    return it == value->end() ? nullptr : &*it;
  }
  Node child(const std::string& token, const json& v) const {
    return Node{&v, doc, pointer + "/" + escapeToken(token)};
  }
  Node child(const char* keyword) const { return child(keyword, *get(keyword)); }
};

const json& emptySchema() {
  static const json empty = json::object();
  return empty;
}

/// A missing keyword that means "no constraint" ({}), placed where it would be.
Node absent(const Node& parent, const std::string& token) {
  return Node{&emptySchema(), parent.doc, parent.pointer + "/" + escapeToken(token)};
}

/// `keyword` of `node` as a subschema, or {} when it has none.
Node subschemaOr(const Node& node, const char* keyword) {
  const json* v = node.get(keyword);
  return v != nullptr ? node.child(keyword) : absent(node, keyword);
}

bool isTrivial(const json& schema) {
  return (schema.is_boolean() && schema.get<bool>()) || (schema.is_object() && schema.empty());
}

// ---- types --------------------------------------------------------------------------------

enum TypeBit : unsigned {
  kNull = 1,
  kBoolean = 2,
  kObject = 4,
  kArray = 8,
  kNumber = 16,
  kString = 32,
  kInteger = 64,
};
constexpr unsigned kAnyType = kNull | kBoolean | kObject | kArray | kNumber | kString;
constexpr std::array<std::pair<TypeBit, const char*>, 7> kTypeNames{{{kNull, "null"},
                                                                     {kBoolean, "boolean"},
                                                                     {kObject, "object"},
                                                                     {kArray, "array"},
                                                                     {kNumber, "number"},
                                                                     {kString, "string"},
                                                                     {kInteger, "integer"}}};

unsigned typeBit(const json& name, const Node& at) {
  if (name.is_string()) {
    for (const auto& [bit, text] : kTypeNames)
      if (name.get<std::string>() == text) return bit;
  }
  fail(at.location() + "/type: " + show(name) + " is not a JSON Schema type");
}

unsigned typesOf(const Node& node) {
  const json* type = node.get("type");
  if (type == nullptr) return kAnyType;
  if (!type->is_array()) return typeBit(*type, node);
  unsigned bits = 0;
  for (const auto& t : *type) bits |= typeBit(t, node);
  return bits;
}

/// The bits of `types` a value of one of `accepted` can have ("integer" is a "number").
unsigned notAccepted(unsigned types, unsigned accepted) {
  unsigned missing = 0;
  for (const auto& [bit, name] : kTypeNames) {
    if ((types & bit) == 0) continue;
    const bool ok = (accepted & bit) != 0 || (bit == kInteger && (accepted & kNumber) != 0);
    if (!ok) missing |= bit;
  }
  return missing;
}

std::string typeList(unsigned types) {
  if (types == kAnyType) return "any type";
  std::string text;
  for (const auto& [bit, name] : kTypeNames) {
    if ((types & bit) == 0) continue;
    text += (text.empty() ? "" : ", ") + std::string(name);
  }
  return text;
}

// ---- bounds --------------------------------------------------------------------------------

struct Bound {
  double value = 0;
  bool exclusive = false;
  const char* keyword = "";
  json shown;
};

double numberAt(const Node& node, const char* keyword) {
  const json* v = node.get(keyword);
  if (!v->is_number()) {
    fail(node.location() + "/" + keyword + ": must be a number (draft-07), found " +
         v->type_name());
  }
  return v->get<double>();
}

/// The effective lower (or upper) bound of `node`: the stricter of minimum and
/// exclusiveMinimum (maximum and exclusiveMaximum).
std::optional<Bound> boundOf(const Node& node, bool lower) {
  const char* inclusiveKey = lower ? "minimum" : "maximum";
  const char* exclusiveKey = lower ? "exclusiveMinimum" : "exclusiveMaximum";
  std::optional<Bound> bound;
  if (node.get(inclusiveKey) != nullptr) {
    bound = Bound{numberAt(node, inclusiveKey), false, inclusiveKey, *node.get(inclusiveKey)};
  }
  if (node.get(exclusiveKey) != nullptr) {
    Bound exclusive{numberAt(node, exclusiveKey), true, exclusiveKey, *node.get(exclusiveKey)};
    const bool stricter =
        !bound || (lower ? exclusive.value >= bound->value : exclusive.value <= bound->value);
    if (stricter) bound = exclusive;
  }
  return bound;
}

/// True if `a` lets fewer values through than `b`.
bool stricter(const Bound& a, const Bound& b, bool lower) {
  if (a.value != b.value) return lower ? a.value > b.value : a.value < b.value;
  return a.exclusive && !b.exclusive;
}

std::string describe(const Bound& b) {
  return std::string(b.keyword) + " " + b.shown.dump();
}

std::optional<std::uint64_t> countAt(const Node& node, const char* keyword) {
  const json* v = node.get(keyword);
  if (v == nullptr) return std::nullopt;
  const bool whole = v->is_number_integer() ||
                     (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>());
  if (!whole || v->get<double>() < 0) {
    fail(node.location() + "/" + keyword + ": must be a non-negative integer");
  }
  return v->get<std::uint64_t>();
}

bool isWholeMultiple(double ratio) {
  return ratio >= 1 && std::fabs(ratio - std::round(ratio)) < 1e-9 * ratio;
}

// ---- the comparison ------------------------------------------------------------------------

/// Keywords that never change which values are valid.
const std::set<std::string, std::less<>>& annotations() {
  static const std::set<std::string, std::less<>> keys{
      "$schema", "$id",      "$comment", "title",           "description",
      "default", "examples", "readOnly", "writeOnly",       "definitions",
      "$ref",    "then",     "else",     "contentEncoding", "contentMediaType",
  };
  // then/else are compared with `if`; $ref is followed before a node is compared.
  return keys;
}

/// Keywords compared by a rule of their own.
const std::set<std::string, std::less<>>& comparedKeywords() {
  static const std::set<std::string, std::less<>> keys{
      "type",
      "enum",
      "const",
      "minimum",
      "maximum",
      "exclusiveMinimum",
      "exclusiveMaximum",
      "multipleOf",
      "minLength",
      "maxLength",
      "minItems",
      "maxItems",
      "minProperties",
      "maxProperties",
      "pattern",
      "format",
      "uniqueItems",
      "properties",
      "required",
      "additionalProperties",
      "patternProperties",
      "propertyNames",
      "dependencies",
      "items",
      "additionalItems",
      "contains",
      "allOf",
      "anyOf",
      "oneOf",
      "not",
      "if",
  };
  return keys;
}

std::vector<std::string> stringsAt(const Node& node, const char* keyword) {
  std::vector<std::string> values;
  const json* v = node.get(keyword);
  if (v == nullptr) return values;
  if (!v->is_array()) fail(node.location() + "/" + keyword + ": must be an array of strings");
  for (const auto& item : *v) {
    if (!item.is_string()) fail(node.location() + "/" + keyword + ": must be an array of strings");
    values.push_back(item.get<std::string>());
  }
  return values;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

class Comparer {
 public:
  /// `inclusionOnly`: judge only whether the new schema accepts every value the old one does,
  /// without the rule that a removed property is breaking (it is only right for the schema of a
  /// message, not for one under `not` or `if` that is compared the other way round).
  explicit Comparer(Documents& documents, bool inclusionOnly = false)
      : documents_(documents), inclusionOnly_(inclusionOnly) {}

  std::vector<SchemaChange> changes;

  void compare(Node oldNode, Node newNode, const std::string& pointer, const std::string& instance,
               int depth = 0) {
    if (depth > kMaxDepth) fail(newNode.location() + ": schema nested too deeply to compare");
    oldNode = resolve(std::move(oldNode));
    newNode = resolve(std::move(newNode));
    // A recursive schema (a definition that refers to itself) is compared once per pair of
    // places; meeting the pair again means the comparison is already under way further up.
    const std::string visit = oldNode.location() + "\n" + newNode.location();
    if (!visiting_.insert(visit).second) return;
    compareResolved(oldNode, newNode, pointer, instance, depth);
    visiting_.erase(visit);
  }

 private:
  static constexpr int kMaxDepth = 200;
  static constexpr int kMaxRefHops = 32;

  Documents& documents_;
  bool inclusionOnly_;
  std::set<std::string> visiting_;

  void add(SchemaChangeKind kind, bool breaking, const std::string& pointer, const Node& at,
           const std::string& keyword, const std::string& instance, std::string message) {
    SchemaChange change;
    change.pointer = pointer;
    change.location = at.location() + (keyword.empty() ? "" : "/" + escapeToken(keyword));
    change.instancePath = instance;
    change.kind = kind;
    change.breaking = breaking;
    change.message = std::move(message);
    changes.push_back(std::move(change));
  }

  Node resolve(Node node) {
    for (int hops = 0;; ++hops) {
      if (!node.value->is_object() && !node.value->is_boolean()) {
        fail(node.location() + ": is not a schema (an object or a boolean), found " +
             node.value->type_name());
      }
      const json* ref = node.get("$ref");
      if (ref == nullptr) return node;
      if (!ref->is_string()) fail(node.location() + "/$ref: must be a string");
      if (hops >= kMaxRefHops) fail(node.location() + ": $ref chain loops or is too long");
      node = follow(node, ref->get<std::string>());
    }
  }

  Node follow(const Node& from, const std::string& ref) {
    const auto hash = ref.find('#');
    const std::string file = ref.substr(0, hash);
    const std::string fragment = hash == std::string::npos ? "" : ref.substr(hash + 1);
    const Document* doc = from.doc;
    const std::string where = from.location() + "/$ref \"" + ref + "\"";
    if (!file.empty()) {
      if (file.find(':') != std::string::npos) {
        fail(where + ": only local (#/...) and relative file references can be followed");
      }
      if (doc->path.empty()) {
        fail(where + ": a reference to another file needs the schema to be read from a file");
      }
      const fs::path target = (fs::path(doc->path).parent_path() / file).lexically_normal();
      doc = documents_.load(target.string());
    }
    const std::string pointer = percentDecode(fragment);
    if (!pointer.empty() && pointer.front() != '/') {
      fail(where + ": only JSON pointer fragments (#/...) are supported");
    }
    try {
      const json::json_pointer jsonPointer(pointer);
      if (!doc->root.contains(jsonPointer)) fail(where + ": resolves to nothing");
      return Node{&doc->root.at(jsonPointer), doc, pointer};
    } catch (const json::exception& e) {
      fail(where + ": " + e.what());
    }
  }

  void compareResolved(const Node& oldNode, const Node& newNode, const std::string& pointer,
                       const std::string& instance, int depth) {
    const json& oldValue = *oldNode.value;
    const json& newValue = *newNode.value;
    if (newValue.is_boolean() && !newValue.get<bool>()) {
      if (!(oldValue.is_boolean() && !oldValue.get<bool>())) {
        add(SchemaChangeKind::kConstraintAdded, true, pointer, newNode, "", instance,
            "the schema is now false: every value is refused");
      }
      return;
    }
    if (oldValue.is_boolean() && !oldValue.get<bool>()) {
      add(SchemaChangeKind::kConstraintRemoved, false, pointer, newNode, "", instance,
          "the schema was false (every value refused) and now accepts values");
      return;
    }
    // `true` is {}: the comparison below sees no keywords.
    const Node oldSchema =
        oldValue.is_boolean() ? Node{&emptySchema(), oldNode.doc, oldNode.pointer} : oldNode;
    const Node newSchema =
        newValue.is_boolean() ? Node{&emptySchema(), newNode.doc, newNode.pointer} : newNode;

    if (!compareTypes(oldSchema, newSchema, pointer, instance)) return;
    compareValues(oldSchema, newSchema, pointer, instance);
    compareBounds(oldSchema, newSchema, pointer, instance);
    compareStrings(oldSchema, newSchema, pointer, instance);
    compareObjects(oldSchema, newSchema, pointer, instance, depth);
    compareArrays(oldSchema, newSchema, pointer, instance, depth);
    compareCombinators(oldSchema, newSchema, pointer, instance, depth);
    compareOtherKeywords(oldSchema, newSchema, pointer, instance);
  }

  /// False when the types have nothing in common: the rest of the comparison would be noise.
  bool compareTypes(const Node& o, const Node& n, const std::string& pointer,
                    const std::string& instance) {
    const unsigned oldTypes = typesOf(o);
    const unsigned newTypes = typesOf(n);
    const unsigned lost = notAccepted(oldTypes, newTypes);
    const unsigned gained = notAccepted(newTypes, oldTypes);
    if (lost == 0 && gained == 0) return true;
    const Node& at = n.get("type") != nullptr ? n : o;
    const std::string from = typeList(oldTypes);
    const std::string to = typeList(newTypes);
    // "number" -> "integer" still overlaps (integers); "string" -> "integer" does not.
    const bool overlap = lost != oldTypes || gained != newTypes;
    if (lost != 0 && gained != 0) {
      add(SchemaChangeKind::kTypeChanged, true, pointer + "/type", at, "type", instance,
          "type changed from " + from + " to " + to);
    } else if (lost != 0) {
      add(SchemaChangeKind::kTypeNarrowed, true, pointer + "/type", at, "type", instance,
          "type narrowed from " + from + " to " + to + " (" + typeList(lost) +
              " no longer allowed)");
    } else {
      add(SchemaChangeKind::kTypeWidened, false, pointer + "/type", at, "type", instance,
          "type widened from " + from + " to " + to);
    }
    return overlap;
  }

  static std::optional<std::vector<json>> allowedValues(const Node& node) {
    std::optional<std::vector<json>> values;
    if (const json* e = node.get("enum")) {
      if (!e->is_array()) fail(node.location() + "/enum: must be an array");
      values = std::vector<json>(e->begin(), e->end());
    }
    if (const json* c = node.get("const")) {
      if (!values || std::find(values->begin(), values->end(), *c) != values->end()) {
        values = std::vector<json>{*c};
      } else {
        values = std::vector<json>{};  // const outside the enum: nothing is valid
      }
    }
    return values;
  }

  static std::string valueList(const std::vector<json>& values) {
    std::string text;
    for (const auto& v : values) text += (text.empty() ? "" : ", ") + show(v);
    return text;
  }

  void compareValues(const Node& o, const Node& n, const std::string& pointer,
                     const std::string& instance) {
    const auto oldValues = allowedValues(o);
    const auto newValues = allowedValues(n);
    if (!oldValues && !newValues) return;
    const bool newConst = n.get("const") != nullptr;
    const char* newKeyword = newConst ? "const" : "enum";
    if (!oldValues) {
      add(newConst ? SchemaChangeKind::kConstChanged : SchemaChangeKind::kEnumNarrowed, true,
          pointer + "/" + newKeyword, n, newKeyword, instance,
          std::string(newKeyword) + " added: only " + valueList(*newValues) + " allowed now");
      return;
    }
    const char* oldKeyword = o.get("const") != nullptr ? "const" : "enum";
    if (!newValues) {
      add(SchemaChangeKind::kEnumWidened, false, pointer + "/" + oldKeyword, o, oldKeyword,
          instance, std::string(oldKeyword) + " removed: any value allowed now");
      return;
    }
    std::vector<json> removed;
    std::vector<json> added;
    for (const auto& v : *oldValues)
      if (std::find(newValues->begin(), newValues->end(), v) == newValues->end())
        removed.push_back(v);
    for (const auto& v : *newValues)
      if (std::find(oldValues->begin(), oldValues->end(), v) == oldValues->end())
        added.push_back(v);
    if (!removed.empty()) {
      if (newConst) {
        add(SchemaChangeKind::kConstChanged, true, pointer + "/const", n, "const", instance,
            "const changed: only " + valueList(*newValues) + " allowed now (was " +
                valueList(*oldValues) + ")");
        return;
      }
      add(SchemaChangeKind::kEnumNarrowed, true, pointer + "/enum", n, "enum", instance,
          "enum narrowed: " + valueList(removed) + " no longer allowed");
    }
    if (!added.empty()) {
      add(SchemaChangeKind::kEnumWidened, false, pointer + "/" + newKeyword, n, newKeyword,
          instance, std::string(newKeyword) + " widened: " + valueList(added) + " allowed now");
    }
  }

  void boundChange(bool tightened, const std::string& pointer, const Node& at, const char* keyword,
                   const std::string& instance, std::string message) {
    add(tightened ? SchemaChangeKind::kBoundTightened : SchemaChangeKind::kBoundLoosened, tightened,
        pointer + "/" + keyword, at, keyword, instance, std::move(message));
  }

  void compareLimit(const Node& o, const Node& n, bool lower, const std::string& pointer,
                    const std::string& instance) {
    const auto oldBound = boundOf(o, lower);
    const auto newBound = boundOf(n, lower);
    if (!oldBound && !newBound) return;
    if (!oldBound) {
      boundChange(true, pointer, n, newBound->keyword, instance, describe(*newBound) + " added");
    } else if (!newBound) {
      boundChange(false, pointer, o, oldBound->keyword, instance, describe(*oldBound) + " removed");
    } else if (stricter(*newBound, *oldBound, lower)) {
      boundChange(true, pointer, n, newBound->keyword, instance,
                  (lower ? "lower" : "upper") + std::string(" bound tightened from ") +
                      describe(*oldBound) + " to " + describe(*newBound));
    } else if (stricter(*oldBound, *newBound, lower)) {
      boundChange(false, pointer, n, newBound->keyword, instance,
                  (lower ? "lower" : "upper") + std::string(" bound loosened from ") +
                      describe(*oldBound) + " to " + describe(*newBound));
    }
  }

  void compareCount(const Node& o, const Node& n, const char* keyword, bool isMinimum,
                    const std::string& pointer, const std::string& instance) {
    const auto oldCount = countAt(o, keyword);
    const auto newCount = countAt(n, keyword);
    if (oldCount == newCount) return;
    const std::string k = keyword;
    if (isMinimum) {
      const std::uint64_t from = oldCount.value_or(0);
      const std::uint64_t to = newCount.value_or(0);
      if (from == to) return;  // 0 and absent are the same
      boundChange(to > from, pointer, newCount ? n : o, keyword, instance,
                  !oldCount   ? k + " " + std::to_string(to) + " added"
                  : !newCount ? k + " " + std::to_string(from) + " removed"
                              : k + (to > from ? " raised" : " lowered") + " from " +
                                    std::to_string(from) + " to " + std::to_string(to));
      return;
    }
    if (!oldCount) {
      boundChange(true, pointer, n, keyword, instance,
                  k + " " + std::to_string(*newCount) + " added");
    } else if (!newCount) {
      boundChange(false, pointer, o, keyword, instance,
                  k + " " + std::to_string(*oldCount) + " removed");
    } else {
      boundChange(*newCount < *oldCount, pointer, n, keyword, instance,
                  k + (*newCount < *oldCount ? " lowered" : " raised") + " from " +
                      std::to_string(*oldCount) + " to " + std::to_string(*newCount));
    }
  }

  void compareBounds(const Node& o, const Node& n, const std::string& pointer,
                     const std::string& instance) {
    compareLimit(o, n, /*lower=*/true, pointer, instance);
    compareLimit(o, n, /*lower=*/false, pointer, instance);
    const bool oldMultiple = o.get("multipleOf") != nullptr;
    const bool newMultiple = n.get("multipleOf") != nullptr;
    if (oldMultiple || newMultiple) {
      const std::string oldText = oldMultiple ? o.get("multipleOf")->dump() : "";
      const std::string newText = newMultiple ? n.get("multipleOf")->dump() : "";
      if (!oldMultiple) {
        boundChange(true, pointer, n, "multipleOf", instance, "multipleOf " + newText + " added");
      } else if (!newMultiple) {
        boundChange(false, pointer, o, "multipleOf", instance,
                    "multipleOf " + oldText + " removed");
      } else {
        const double from = numberAt(o, "multipleOf");
        const double to = numberAt(n, "multipleOf");
        if (from != to) {
          // Multiples of 0.05 are all multiples of 0.01 (looser to tighter), not the reverse;
          // two unrelated steps (0.02 -> 0.03) refuse old values too.
          const bool loosened = isWholeMultiple(from / to);
          boundChange(!loosened, pointer, n, "multipleOf", instance,
                      "multipleOf changed from " + oldText + " to " + newText);
        }
      }
    }
    for (const auto& [minKey, maxKey] :
         {std::pair{"minLength", "maxLength"}, std::pair{"minItems", "maxItems"},
          std::pair{"minProperties", "maxProperties"}}) {
      compareCount(o, n, minKey, true, pointer, instance);
      compareCount(o, n, maxKey, false, pointer, instance);
    }
  }

  void compareText(const Node& o, const Node& n, const char* keyword, SchemaChangeKind changed,
                   SchemaChangeKind removed, const std::string& pointer,
                   const std::string& instance) {
    const json* oldValue = o.get(keyword);
    const json* newValue = n.get(keyword);
    if (oldValue == nullptr && newValue == nullptr) return;
    if (oldValue != nullptr && newValue != nullptr && *oldValue == *newValue) return;
    const std::string k = keyword;
    if (newValue == nullptr) {
      add(removed, false, pointer + "/" + k, o, k, instance,
          k + " " + show(*oldValue) + " removed");
    } else if (oldValue == nullptr) {
      add(changed, true, pointer + "/" + k, n, k, instance, k + " " + show(*newValue) + " added");
    } else {
      add(changed, true, pointer + "/" + k, n, k, instance,
          k + " changed from " + show(*oldValue) + " to " + show(*newValue));
    }
  }

  void compareStrings(const Node& o, const Node& n, const std::string& pointer,
                      const std::string& instance) {
    compareText(o, n, "pattern", SchemaChangeKind::kPatternChanged,
                SchemaChangeKind::kPatternRemoved, pointer, instance);
    compareText(o, n, "format", SchemaChangeKind::kFormatChanged, SchemaChangeKind::kFormatRemoved,
                pointer, instance);
  }

  static bool flag(const Node& node, const char* keyword) {
    const json* v = node.get(keyword);
    return v != nullptr && v->is_boolean() && v->get<bool>();
  }

  static const json& objectAt(const Node& node, const char* keyword) {
    const json* v = node.get(keyword);
    if (v == nullptr) return emptySchema();
    if (!v->is_object()) fail(node.location() + "/" + keyword + ": must be an object");
    return *v;
  }

  void compareObjects(const Node& o, const Node& n, const std::string& pointer,
                      const std::string& instance, int depth) {
    const json& oldProperties = objectAt(o, "properties");
    const json& newProperties = objectAt(n, "properties");
    const std::vector<std::string> oldRequired = stringsAt(o, "required");
    const std::vector<std::string> newRequired = stringsAt(n, "required");
    const json* oldAdditional = o.get("additionalProperties");

    for (const auto& [name, schema] : oldProperties.items()) {
      const std::string at = pointer + "/properties/" + escapeToken(name);
      const std::string field = instance + "/" + escapeToken(name);
      const Node oldProperty = o.child("properties").child(name, schema);
      if (!newProperties.contains(name)) {
        add(SchemaChangeKind::kPropertyRemoved, !inclusionOnly_, at, oldProperty, "", field,
            "property " + name + " removed" +
                (contains(oldRequired, name) ? " (it was required)" : ""));
        continue;
      }
      compare(oldProperty, n.child("properties").child(name, newProperties.at(name)), at, field,
              depth + 1);
    }
    for (const auto& [name, schema] : newProperties.items()) {
      if (oldProperties.contains(name)) continue;
      const std::string at = pointer + "/properties/" + escapeToken(name);
      const std::string field = instance + "/" + escapeToken(name);
      const Node newProperty = n.child("properties").child(name, schema);
      // A message of the old version could carry the property only as an additional one.
      if (oldAdditional != nullptr && oldAdditional->is_object() && !oldAdditional->empty()) {
        compare(o.child("additionalProperties"), newProperty, at, field, depth + 1);
      }
      if (contains(newRequired, name)) continue;  // reported below, as a new required property
      if (schema.is_boolean() && !schema.get<bool>()) {
        add(SchemaChangeKind::kConstraintAdded, true, at, newProperty, "", field,
            "property " + name + " is now forbidden (its schema is false)");
        continue;
      }
      add(SchemaChangeKind::kPropertyAdded, false, at, newProperty, "", field,
          "new optional property " + name);
    }

    for (std::size_t i = 0; i < newRequired.size(); ++i) {
      const std::string& name = newRequired[i];
      if (contains(oldRequired, name)) continue;
      const bool known = oldProperties.contains(name);
      add(SchemaChangeKind::kRequiredAdded, true, pointer + "/required/" + std::to_string(i), n,
          "required/" + std::to_string(i), instance + "/" + escapeToken(name),
          known ? "property " + name + " is now required" : "new required property " + name);
    }
    for (std::size_t i = 0; i < oldRequired.size(); ++i) {
      const std::string& name = oldRequired[i];
      if (contains(newRequired, name)) continue;
      if (oldProperties.contains(name) && !newProperties.contains(name)) continue;  // removed
      add(SchemaChangeKind::kRequiredRemoved, false, pointer + "/required/" + std::to_string(i), o,
          "required/" + std::to_string(i), instance + "/" + escapeToken(name),
          "property " + name + " is no longer required");
    }

    compareAdditionalProperties(o, n, pointer, instance, depth);

    const json& oldPatterns = objectAt(o, "patternProperties");
    const json& newPatterns = objectAt(n, "patternProperties");
    for (const auto& [pattern, schema] : oldPatterns.items()) {
      const std::string at = pointer + "/patternProperties/" + escapeToken(pattern);
      if (!newPatterns.contains(pattern)) {
        add(SchemaChangeKind::kConstraintRemoved, false, at,
            o.child("patternProperties").child(pattern, schema), "", instance + "/*",
            "patternProperties " + show(pattern) + " removed");
        continue;
      }
      compare(o.child("patternProperties").child(pattern, schema),
              n.child("patternProperties").child(pattern, newPatterns.at(pattern)), at,
              instance + "/*", depth + 1);
    }
    for (const auto& [pattern, schema] : newPatterns.items()) {
      if (oldPatterns.contains(pattern) || isTrivial(schema)) continue;
      add(SchemaChangeKind::kConstraintAdded, true,
          pointer + "/patternProperties/" + escapeToken(pattern),
          n.child("patternProperties").child(pattern, schema), "", instance + "/*",
          "patternProperties " + show(pattern) +
              " added: properties whose name matches it must match its schema");
    }

    if (o.get("propertyNames") != nullptr || n.get("propertyNames") != nullptr) {
      compare(subschemaOr(o, "propertyNames"), subschemaOr(n, "propertyNames"),
              pointer + "/propertyNames", instance, depth + 1);
    }
    compareDependencies(o, n, pointer, instance, depth);
  }

  enum class Openness { kOpen, kClosed, kSchema };

  static Openness opennessOf(const json* additional) {
    if (additional == nullptr || isTrivial(*additional)) return Openness::kOpen;
    if (additional->is_boolean()) return Openness::kClosed;  // false
    return Openness::kSchema;
  }

  void compareAdditionalProperties(const Node& o, const Node& n, const std::string& pointer,
                                   const std::string& instance, int depth) {
    const Openness from = opennessOf(o.get("additionalProperties"));
    const Openness to = opennessOf(n.get("additionalProperties"));
    const std::string at = pointer + "/additionalProperties";
    const std::string field = instance + "/*";
    if (from == to && from != Openness::kSchema) return;
    if (from == Openness::kSchema && to == Openness::kSchema) {
      compare(o.child("additionalProperties"), n.child("additionalProperties"), at, field,
              depth + 1);
      return;
    }
    const bool closing = to == Openness::kClosed || (from == Openness::kOpen);
    if (closing) {
      add(SchemaChangeKind::kAdditionalPropertiesClosed, true, at, n, "additionalProperties", field,
          to == Openness::kClosed
              ? "additionalProperties is now false: properties not listed are refused"
              : "additionalProperties is now a schema: properties not listed must match it");
    } else {
      add(SchemaChangeKind::kAdditionalPropertiesOpened, false, at,
          n.get("additionalProperties") != nullptr ? n : o, "additionalProperties", field,
          to == Openness::kOpen ? "additionalProperties opened: any other property is allowed"
                                : "additionalProperties opened from false to a schema");
    }
  }

  void compareDependencies(const Node& o, const Node& n, const std::string& pointer,
                           const std::string& instance, int depth) {
    const json& oldDependencies = objectAt(o, "dependencies");
    const json& newDependencies = objectAt(n, "dependencies");
    for (const auto& [name, dependency] : newDependencies.items()) {
      const std::string at = pointer + "/dependencies/" + escapeToken(name);
      const Node newNode = n.child("dependencies").child(name, dependency);
      if (!oldDependencies.contains(name)) {
        if (!isTrivial(dependency) && !(dependency.is_array() && dependency.empty())) {
          add(SchemaChangeKind::kConstraintAdded, true, at, newNode, "", instance,
              "dependencies of " + name + " added");
        }
        continue;
      }
      const json& old = oldDependencies.at(name);
      const Node oldNode = o.child("dependencies").child(name, old);
      if (old.is_array() && dependency.is_array()) {
        const auto oldNames = stringsAt(o.child("dependencies"), name.c_str());
        const auto newNames = stringsAt(n.child("dependencies"), name.c_str());
        for (const auto& required : newNames) {
          if (!contains(oldNames, required)) {
            add(SchemaChangeKind::kConstraintAdded, true, at, newNode, "",
                instance + "/" + escapeToken(required),
                "when " + name + " is present, " + required + " is now required");
          }
        }
        for (const auto& required : oldNames) {
          if (!contains(newNames, required)) {
            add(SchemaChangeKind::kConstraintRemoved, false, at, newNode, "",
                instance + "/" + escapeToken(required),
                "when " + name + " is present, " + required + " is no longer required");
          }
        }
      } else if (!old.is_array() && !dependency.is_array()) {
        compare(oldNode, newNode, at, instance, depth + 1);
      } else {
        add(SchemaChangeKind::kUncomparable, true, at, newNode, "", instance,
            "dependencies of " + name + " changed between a list of names and a schema");
      }
    }
    for (const auto& [name, dependency] : oldDependencies.items()) {
      if (newDependencies.contains(name)) continue;
      add(SchemaChangeKind::kConstraintRemoved, false,
          pointer + "/dependencies/" + escapeToken(name),
          o.child("dependencies").child(name, dependency), "", instance,
          "dependencies of " + name + " removed");
    }
  }

  void compareArrays(const Node& o, const Node& n, const std::string& pointer,
                     const std::string& instance, int depth) {
    const json* oldItems = o.get("items");
    const json* newItems = n.get("items");
    const bool oldTuple = oldItems != nullptr && oldItems->is_array();
    const bool newTuple = newItems != nullptr && newItems->is_array();
    if (oldTuple && newTuple) {
      const std::size_t count = std::max(oldItems->size(), newItems->size());
      for (std::size_t i = 0; i < count; ++i) {
        const std::string index = std::to_string(i);
        const Node oldItem = i < oldItems->size() ? o.child("items").child(index, (*oldItems)[i])
                                                  : subschemaOr(o, "additionalItems");
        const Node newItem = i < newItems->size() ? n.child("items").child(index, (*newItems)[i])
                                                  : subschemaOr(n, "additionalItems");
        compare(oldItem, newItem, pointer + "/items/" + index, instance + "/" + index, depth + 1);
      }
      if (o.get("additionalItems") != nullptr || n.get("additionalItems") != nullptr) {
        compare(subschemaOr(o, "additionalItems"), subschemaOr(n, "additionalItems"),
                pointer + "/additionalItems", instance + "/*", depth + 1);
      }
    } else if (oldTuple != newTuple && (oldItems != nullptr && newItems != nullptr)) {
      add(SchemaChangeKind::kUncomparable, true, pointer + "/items", n, "items", instance,
          "items changed between one schema for every element and a tuple of schemas");
    } else if (oldTuple != newTuple) {
      // A tuple appeared or disappeared where there was no `items` at all.
      if (newTuple) {
        add(SchemaChangeKind::kConstraintAdded, true, pointer + "/items", n, "items", instance,
            "items added as a tuple: elements are constrained by position");
      } else {
        add(SchemaChangeKind::kConstraintRemoved, false, pointer + "/items", o, "items", instance,
            "tuple items removed");
      }
    } else if (oldItems != nullptr || newItems != nullptr) {
      compare(subschemaOr(o, "items"), subschemaOr(n, "items"), pointer + "/items", instance + "/*",
              depth + 1);
    }

    const bool oldUnique = flag(o, "uniqueItems");
    const bool newUnique = flag(n, "uniqueItems");
    if (!oldUnique && newUnique) {
      add(SchemaChangeKind::kConstraintAdded, true, pointer + "/uniqueItems", n, "uniqueItems",
          instance, "uniqueItems added: repeated elements are refused");
    } else if (oldUnique && !newUnique) {
      add(SchemaChangeKind::kConstraintRemoved, false, pointer + "/uniqueItems", o, "uniqueItems",
          instance, "uniqueItems removed");
    }

    const bool oldContains = o.get("contains") != nullptr;
    const bool newContains = n.get("contains") != nullptr;
    if (!oldContains && newContains) {
      add(SchemaChangeKind::kConstraintAdded, true, pointer + "/contains", n, "contains", instance,
          "contains added: arrays must have an element that matches it");
    } else if (oldContains && !newContains) {
      add(SchemaChangeKind::kConstraintRemoved, false, pointer + "/contains", o, "contains",
          instance, "contains removed");
    } else if (oldContains) {
      compare(o.child("contains"), n.child("contains"), pointer + "/contains", instance + "/*",
              depth + 1);
    }
  }

  static const json& arrayAt(const Node& node, const char* keyword) {
    static const json empty = json::array();
    const json* v = node.get(keyword);
    if (v == nullptr) return empty;
    if (!v->is_array()) fail(node.location() + "/" + keyword + ": must be an array of schemas");
    return *v;
  }

  /// allOf / anyOf / oneOf: branches equal in both versions are paired first, the others in
  /// order; what is left over was added or removed.
  void compareBranches(const Node& o, const Node& n, const char* keyword,
                       const std::string& pointer, const std::string& instance, int depth) {
    const json& oldBranches = arrayAt(o, keyword);
    const json& newBranches = arrayAt(n, keyword);
    if (oldBranches.empty() && newBranches.empty()) return;
    const std::string k = keyword;
    const bool conjunction = k == "allOf";
    const bool bothPresent = o.get(keyword) != nullptr && n.get(keyword) != nullptr;

    std::vector<std::optional<std::size_t>> pairedOld(newBranches.size());
    std::vector<bool> used(oldBranches.size(), false);
    for (std::size_t i = 0; i < newBranches.size(); ++i) {
      for (std::size_t j = 0; j < oldBranches.size(); ++j) {
        if (!used[j] && oldBranches[j] == newBranches[i]) {
          pairedOld[i] = j;
          used[j] = true;
          break;
        }
      }
    }
    std::size_t next = 0;
    for (std::size_t i = 0; i < newBranches.size(); ++i) {
      if (pairedOld[i]) continue;
      while (next < oldBranches.size() && used[next]) ++next;
      if (next < oldBranches.size()) {
        pairedOld[i] = next;
        used[next] = true;
      }
    }

    for (std::size_t i = 0; i < newBranches.size(); ++i) {
      const std::string at = pointer + "/" + k + "/" + std::to_string(i);
      const Node newBranch = n.child(keyword).child(std::to_string(i), newBranches[i]);
      if (pairedOld[i]) {
        compare(o.child(keyword).child(std::to_string(*pairedOld[i]), oldBranches[*pairedOld[i]]),
                newBranch, at, instance, depth + 1);
        continue;
      }
      if (conjunction) {
        if (!isTrivial(newBranches[i])) {
          add(SchemaChangeKind::kConstraintAdded, true, at, newBranch, "", instance,
              "allOf branch added: values must also match it");
        }
      } else if (!bothPresent) {
        add(SchemaChangeKind::kConstraintAdded, true, at, newBranch, "", instance,
            k + " added: values must match " + (k == "oneOf" ? "exactly one" : "one") +
                " of its branches");
        break;  // one change for the whole new keyword
      } else if (k == "anyOf") {
        add(SchemaChangeKind::kAlternativeAdded, false, at, newBranch, "", instance,
            "anyOf branch added: values matching it are accepted too");
      } else {
        add(SchemaChangeKind::kAlternativeAdded, true, at, newBranch, "", instance,
            "oneOf branch added: a value that matches it and another branch is now refused");
      }
    }
    for (std::size_t j = 0; j < oldBranches.size(); ++j) {
      if (used[j]) continue;
      const std::string at = pointer + "/" + k + "/" + std::to_string(j);
      const Node oldBranch = o.child(keyword).child(std::to_string(j), oldBranches[j]);
      if (conjunction || !bothPresent) {
        add(SchemaChangeKind::kConstraintRemoved, false, at, oldBranch, "", instance,
            conjunction ? "allOf branch removed" : k + " removed");
        if (!conjunction) break;
      } else {
        add(SchemaChangeKind::kAlternativeRemoved, true, at, oldBranch, "", instance,
            k + " branch removed: values that matched only it are refused");
      }
    }
  }

  void compareCombinators(const Node& o, const Node& n, const std::string& pointer,
                          const std::string& instance, int depth) {
    compareBranches(o, n, "allOf", pointer, instance, depth);
    compareBranches(o, n, "anyOf", pointer, instance, depth);
    compareBranches(o, n, "oneOf", pointer, instance, depth);
    compareNot(o, n, pointer, instance, depth);
    compareConditional(o, n, pointer, instance, depth);
  }

  void compareNot(const Node& o, const Node& n, const std::string& pointer,
                  const std::string& instance, int depth) {
    const json* oldNot = o.get("not");
    const json* newNot = n.get("not");
    const std::string at = pointer + "/not";
    if (oldNot == nullptr && newNot == nullptr) return;
    if (oldNot == nullptr) {
      add(SchemaChangeKind::kConstraintAdded, true, at, n, "not", instance,
          "not added: values that match its schema are refused");
      return;
    }
    if (newNot == nullptr) {
      add(SchemaChangeKind::kConstraintRemoved, false, at, o, "not", instance, "not removed");
      return;
    }
    if (*oldNot == *newNot) return;
    // The new schema accepts every old value iff its `not` matches no more than the old `not`:
    // compare the two `not` schemas the other way round.
    Comparer inverted(documents_, /*inclusionOnly=*/true);
    inverted.compare(n.child("not"), o.child("not"), at, instance, depth + 1);
    const auto breaking = std::find_if(inverted.changes.begin(), inverted.changes.end(),
                                       [](const SchemaChange& c) { return c.breaking; });
    if (breaking != inverted.changes.end()) {
      add(SchemaChangeKind::kConstraintAdded, true, breaking->pointer, n, "not", instance,
          "the schema under not now matches values it did not match, which are refused (" +
              std::string(toString(breaking->kind)) + " read with old and new swapped)");
    } else if (!inverted.changes.empty()) {
      add(SchemaChangeKind::kConstraintRemoved, false, at, n, "not", instance,
          "the schema under not matches fewer values: more values are accepted");
    }
  }

  void compareConditional(const Node& o, const Node& n, const std::string& pointer,
                          const std::string& instance, int depth) {
    const json* oldIf = o.get("if");
    const json* newIf = n.get("if");
    if (oldIf == nullptr && newIf == nullptr) return;  // then/else without if are ignored
    if (oldIf != nullptr && newIf == nullptr) {
      add(SchemaChangeKind::kConstraintRemoved, false, pointer + "/if", o, "if", instance,
          "if/then/else removed");
      return;
    }
    if (oldIf != nullptr && *oldIf != *newIf) {
      // A narrower condition makes `then` apply to fewer values, which only accepts more as
      // long as `else` demands nothing; anything else is not judged.
      Comparer condition(documents_, /*inclusionOnly=*/true);
      condition.compare(n.child("if"), o.child("if"), pointer + "/if", instance, depth + 1);
      const bool narrower = !condition.changes.empty() &&
                            std::none_of(condition.changes.begin(), condition.changes.end(),
                                         [](const SchemaChange& c) { return c.breaking; });
      const json* newElse = n.get("else");
      if (!narrower || (newElse != nullptr && !isTrivial(*newElse))) {
        add(SchemaChangeKind::kUncomparable, true, pointer + "/if", n, "if", instance,
            "the condition of if/then/else changed: the checker cannot tell which values it "
            "refuses now");
        return;
      }
      add(SchemaChangeKind::kConstraintRemoved, false, pointer + "/if", n, "if", instance,
          "the condition of if/then/else is narrower: `then` applies to fewer values");
    }
    // Same condition, or a new one: what then/else demand now, compared with what they (or,
    // without a condition before, nothing) demanded.
    for (const char* branch : {"then", "else"}) {
      if (o.get(branch) == nullptr && n.get(branch) == nullptr) continue;
      compare(oldIf != nullptr ? subschemaOr(o, branch) : absent(o, branch), subschemaOr(n, branch),
              pointer + "/" + branch, instance, depth + 1);
    }
  }

  void compareOtherKeywords(const Node& o, const Node& n, const std::string& pointer,
                            const std::string& instance) {
    std::set<std::string> keys;
    for (const auto& [key, value] : o.value->items()) keys.insert(key);
    for (const auto& [key, value] : n.value->items()) keys.insert(key);
    for (const auto& key : keys) {
      if (annotations().count(key) != 0 || comparedKeywords().count(key) != 0) continue;
      const json* oldValue = o.get(key.c_str());
      const json* newValue = n.get(key.c_str());
      if (oldValue != nullptr && newValue != nullptr && *oldValue == *newValue) continue;
      add(SchemaChangeKind::kUncomparable, true, pointer + "/" + escapeToken(key),
          newValue != nullptr ? n : o, key, instance,
          "keyword " + key +
              " changed; the checker does not know it, so it cannot tell whether "
              "that is compatible");
    }
  }
};

Result<CompatibilityReport> run(Documents& documents, const Document* oldDoc,
                                const Document* newDoc) {
  try {
    Comparer comparer(documents);
    comparer.compare(Node{&oldDoc->root, oldDoc, ""}, Node{&newDoc->root, newDoc, ""}, "", "");
    return CompatibilityReport{std::move(comparer.changes)};
  } catch (const BadSchema& e) {
    return Error{ErrorCode::kInvalidArgument, e.message, ""};
  }
}

}  // namespace

const char* toString(SchemaChangeKind kind) {
  switch (kind) {
    case SchemaChangeKind::kPropertyRemoved:
      return "property-removed";
    case SchemaChangeKind::kPropertyAdded:
      return "property-added";
    case SchemaChangeKind::kRequiredAdded:
      return "required-added";
    case SchemaChangeKind::kRequiredRemoved:
      return "required-removed";
    case SchemaChangeKind::kTypeChanged:
      return "type-changed";
    case SchemaChangeKind::kTypeNarrowed:
      return "type-narrowed";
    case SchemaChangeKind::kTypeWidened:
      return "type-widened";
    case SchemaChangeKind::kEnumNarrowed:
      return "enum-narrowed";
    case SchemaChangeKind::kEnumWidened:
      return "enum-widened";
    case SchemaChangeKind::kConstChanged:
      return "const-changed";
    case SchemaChangeKind::kAdditionalPropertiesClosed:
      return "additional-properties-closed";
    case SchemaChangeKind::kAdditionalPropertiesOpened:
      return "additional-properties-opened";
    case SchemaChangeKind::kBoundTightened:
      return "bound-tightened";
    case SchemaChangeKind::kBoundLoosened:
      return "bound-loosened";
    case SchemaChangeKind::kPatternChanged:
      return "pattern-changed";
    case SchemaChangeKind::kPatternRemoved:
      return "pattern-removed";
    case SchemaChangeKind::kFormatChanged:
      return "format-changed";
    case SchemaChangeKind::kFormatRemoved:
      return "format-removed";
    case SchemaChangeKind::kConstraintAdded:
      return "constraint-added";
    case SchemaChangeKind::kConstraintRemoved:
      return "constraint-removed";
    case SchemaChangeKind::kAlternativeAdded:
      return "alternative-added";
    case SchemaChangeKind::kAlternativeRemoved:
      return "alternative-removed";
    case SchemaChangeKind::kUncomparable:
      return "uncomparable";
  }
  return "uncomparable";
}

bool CompatibilityReport::breaking() const {
  return std::any_of(changes.begin(), changes.end(),
                     [](const SchemaChange& c) { return c.breaking; });
}

Result<CompatibilityReport> compareSchemas(const nlohmann::json& oldSchema,
                                           const nlohmann::json& newSchema) {
  Documents documents;
  const Document* oldDoc = documents.add("", oldSchema);
  const Document* newDoc = documents.add("", newSchema);
  return run(documents, oldDoc, newDoc);
}

Result<CompatibilityReport> compareSchemaFiles(const std::string& oldFile,
                                               const std::string& newFile) {
  Documents documents;
  try {
    const Document* oldDoc = documents.load(fs::path(oldFile).lexically_normal().string());
    // The same file twice is one document: read once, compared with itself.
    const Document* newDoc = documents.load(fs::path(newFile).lexically_normal().string());
    return run(documents, oldDoc, newDoc);
  } catch (const BadSchema& e) {
    return Error{ErrorCode::kInvalidArgument, e.message, ""};
  }
}

}  // namespace orders
