#include "events/schema_compatibility.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "events/schema_catalog.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

using nlohmann::json;
using testing::TempDir;

/// A payload schema shaped like ours: $refs to definitions, a nested object, an array of
/// objects, an enum, bounds. Each test changes one thing in a copy.
json base() {
  return json::parse(R"({
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["orderId", "status", "items", "customer"],
    "properties": {
      "orderId": {"$ref": "#/definitions/uuid"},
      "status": {"$ref": "#/definitions/status"},
      "note": {"type": "string", "maxLength": 200},
      "total": {"type": "number", "minimum": 0},
      "customer": {
        "type": "object",
        "required": ["name"],
        "properties": {
          "name": {"type": "string", "minLength": 1},
          "email": {"type": "string"}
        }
      },
      "items": {"$ref": "#/definitions/lineItems"}
    },
    "definitions": {
      "uuid": {"type": "string", "pattern": "^[0-9a-f-]{36}$"},
      "status": {"type": "string", "enum": ["PENDING", "PAID", "SHIPPED"]},
      "lineItems": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/lineItem"}},
      "lineItem": {
        "type": "object",
        "required": ["productId", "quantity"],
        "properties": {
          "productId": {"type": "string"},
          "quantity": {"type": "integer", "minimum": 1}
        }
      }
    }
  })");
}

CompatibilityReport compare(const json& oldSchema, const json& newSchema) {
  auto report = compareSchemas(oldSchema, newSchema);
  EXPECT_TRUE(report.ok()) << report.error().message;
  return report.ok() ? std::move(report).value() : CompatibilityReport{};
}

std::string dump(const CompatibilityReport& report) {
  std::string text;
  for (const auto& c : report.changes) {
    text += std::string(c.breaking ? "breaking " : "additive ") + toString(c.kind) + " " +
            c.pointer + " (" + c.location + ", instance " + c.instancePath + "): " + c.message +
            "\n";
  }
  return text;
}

/// The only change of the report, checked to be of `kind` at `pointer`.
SchemaChange only(const CompatibilityReport& report, SchemaChangeKind kind,
                  const std::string& pointer) {
  EXPECT_EQ(report.changes.size(), 1u) << dump(report);
  if (report.changes.empty()) return {};
  const SchemaChange& c = report.changes.front();
  EXPECT_EQ(c.kind, kind) << dump(report);
  EXPECT_EQ(c.pointer, pointer) << dump(report);
  return c;
}

std::vector<std::string> breakingPointers(const CompatibilityReport& report) {
  std::vector<std::string> pointers;
  for (const auto& c : report.changes)
    if (c.breaking) pointers.push_back(c.pointer);
  return pointers;
}

TEST(SchemaCompatibility, ASchemaIsCompatibleWithItself) {
  EXPECT_TRUE(compare(base(), base()).changes.empty());
  auto files = listSchemaFiles(ORDER_SERVICE_SCHEMA_DIR);
  ASSERT_TRUE(files.ok()) << files.error().message;
  for (const auto& file : *files) {
    const std::string path = std::string(ORDER_SERVICE_SCHEMA_DIR) + "/" + file.file;
    auto report = compareSchemaFiles(path, path);
    ASSERT_TRUE(report.ok()) << report.error().message;
    EXPECT_TRUE(report->changes.empty()) << file.file << "\n" << dump(*report);
  }
}

TEST(SchemaCompatibility, DescriptionsAndTitlesDoNotMatter) {
  json next = base();
  next["title"] = "changed";
  next["properties"]["note"]["description"] = "free text";
  next["definitions"]["unused"] = {{"type", "integer"}};  // reached by no $ref
  EXPECT_TRUE(compare(base(), next).changes.empty()) << dump(compare(base(), next));
}

// ---- properties and required ----------------------------------------------------------------

TEST(SchemaCompatibility, ANewOptionalPropertyIsAdditive) {
  json next = base();
  next["properties"]["giftWrap"] = {{"type", "boolean"}};
  const auto report = compare(base(), next);
  const auto c = only(report, SchemaChangeKind::kPropertyAdded, "/properties/giftWrap");
  EXPECT_FALSE(c.breaking);
  EXPECT_EQ(c.instancePath, "/giftWrap");
  EXPECT_FALSE(report.breaking());
}

TEST(SchemaCompatibility, ARemovedPropertyIsBreakingEvenWhenOptional) {
  json next = base();
  next["properties"].erase("note");
  const auto report = compare(base(), next);
  const auto c = only(report, SchemaChangeKind::kPropertyRemoved, "/properties/note");
  EXPECT_TRUE(c.breaking);
  EXPECT_EQ(c.location, "#/properties/note");  // in the old schema: the new one has none
  EXPECT_TRUE(report.breaking());
}

TEST(SchemaCompatibility, ARemovedRequiredPropertyIsOneBreakingChange) {
  json next = base();
  next["properties"].erase("orderId");
  next["required"] = {"status", "items", "customer"};
  const auto report = compare(base(), next);
  const auto c = only(report, SchemaChangeKind::kPropertyRemoved, "/properties/orderId");
  EXPECT_NE(c.message.find("was required"), std::string::npos) << c.message;
}

TEST(SchemaCompatibility, ANewRequiredPropertyIsBreaking) {
  json next = base();
  next["properties"]["channel"] = {{"type", "string"}};
  next["required"].push_back("channel");
  const auto report = compare(base(), next);
  const auto c = only(report, SchemaChangeKind::kRequiredAdded, "/required/4");
  EXPECT_TRUE(c.breaking);
  EXPECT_EQ(c.instancePath, "/channel");
  EXPECT_EQ(c.message, "new required property channel");
}

TEST(SchemaCompatibility, MakingAnOptionalPropertyRequiredIsBreaking) {
  json next = base();
  next["required"].push_back("note");
  const auto c = only(compare(base(), next), SchemaChangeKind::kRequiredAdded, "/required/4");
  EXPECT_EQ(c.message, "property note is now required");
}

TEST(SchemaCompatibility, NoLongerRequiringAPropertyIsAdditive) {
  json next = base();
  next["required"] = {"orderId", "status", "items"};
  const auto report = compare(base(), next);
  const auto c = only(report, SchemaChangeKind::kRequiredRemoved, "/required/3");
  EXPECT_FALSE(c.breaking);
  EXPECT_EQ(c.instancePath, "/customer");
}

TEST(SchemaCompatibility, NestedObjectsAreComparedRecursively) {
  json next = base();
  next["properties"]["customer"]["properties"]["name"]["minLength"] = 3;
  next["properties"]["customer"]["properties"]["phone"] = {{"type", "string"}};
  next["properties"]["customer"]["required"].push_back("email");
  const auto report = compare(base(), next);
  EXPECT_EQ(breakingPointers(report),
            (std::vector<std::string>{"/properties/customer/properties/name/minLength",
                                      "/properties/customer/required/1"}))
      << dump(report);
  ASSERT_EQ(report.changes.size(), 3u) << dump(report);
  EXPECT_EQ(report.changes[1].kind, SchemaChangeKind::kPropertyAdded);
  EXPECT_EQ(report.changes[1].pointer, "/properties/customer/properties/phone");
  EXPECT_EQ(report.changes[1].instancePath, "/customer/phone");
  EXPECT_EQ(report.changes[2].instancePath, "/customer/email");
}

TEST(SchemaCompatibility, ANestedRemovedPropertyNamesItsPointer) {
  json next = base();
  next["properties"]["customer"]["properties"].erase("email");
  only(compare(base(), next), SchemaChangeKind::kPropertyRemoved,
       "/properties/customer/properties/email");
}

// ---- arrays and $ref ---------------------------------------------------------------------------

TEST(SchemaCompatibility, ArrayItemsAreComparedThroughTheirRefs) {
  json next = base();
  next["definitions"]["lineItem"]["properties"]["quantity"]["minimum"] = 2;
  const auto report = compare(base(), next);
  const auto c = only(report, SchemaChangeKind::kBoundTightened,
                      "/properties/items/items/properties/quantity/minimum");
  EXPECT_TRUE(c.breaking);
  EXPECT_EQ(c.location, "#/definitions/lineItem/properties/quantity/minimum");
  EXPECT_EQ(c.instancePath, "/items/*/quantity");
  EXPECT_EQ(c.message, "lower bound tightened from minimum 1 to minimum 2");
}

TEST(SchemaCompatibility, ANewPropertyOfArrayElementsIsAdditive) {
  json next = base();
  next["definitions"]["lineItem"]["properties"]["sku"] = {{"type", "string"}};
  only(compare(base(), next), SchemaChangeKind::kPropertyAdded,
       "/properties/items/items/properties/sku");
}

TEST(SchemaCompatibility, ArrayLengthBoundsAndUniqueness) {
  json next = base();
  next["definitions"]["lineItems"]["minItems"] = 0;
  next["definitions"]["lineItems"]["maxItems"] = 50;
  next["definitions"]["lineItems"]["uniqueItems"] = true;
  const auto report = compare(base(), next);
  ASSERT_EQ(report.changes.size(), 3u) << dump(report);
  EXPECT_EQ(report.changes[0].kind, SchemaChangeKind::kBoundLoosened);
  EXPECT_EQ(report.changes[0].pointer, "/properties/items/minItems");
  EXPECT_EQ(breakingPointers(report), (std::vector<std::string>{"/properties/items/maxItems",
                                                                "/properties/items/uniqueItems"}))
      << dump(report);
}

TEST(SchemaCompatibility, ARefAndTheSameSchemaInlineAreEqual) {
  json next = base();
  next["properties"]["orderId"] = next["definitions"]["uuid"];
  next["properties"]["items"] = {
      {"type", "array"}, {"minItems", 1}, {"items", next["definitions"]["lineItem"]}};
  next["definitions"].erase("lineItems");
  EXPECT_TRUE(compare(base(), next).changes.empty()) << dump(compare(base(), next));
}

TEST(SchemaCompatibility, AChangedDefinitionIsReportedWhereverItIsUsed) {
  json oldSchema = base();
  oldSchema["properties"]["userId"] = {{"$ref", "#/definitions/uuid"}};
  json next = oldSchema;
  next["definitions"]["uuid"]["pattern"] = "^[0-9a-f]{8}-[0-9a-f-]{27}$";
  const auto report = compare(oldSchema, next);
  EXPECT_EQ(breakingPointers(report),
            (std::vector<std::string>{"/properties/orderId/pattern", "/properties/userId/pattern"}))
      << dump(report);
  EXPECT_EQ(report.changes[0].kind, SchemaChangeKind::kPatternChanged);
  EXPECT_EQ(report.changes[0].location, "#/definitions/uuid/pattern");
}

TEST(SchemaCompatibility, FollowsRelativeFileRefsFromTheFileThatHoldsThem) {
  TempDir dir;
  dir.write("shared/money.json", R"({"definitions": {
      "amount": {"type": "number", "minimum": 0}}})");
  dir.write("shared/money-strict.json", R"({"definitions": {
      "amount": {"type": "number", "exclusiveMinimum": 0}}})");
  dir.write("events/Paid/1.0.json", R"({"type": "object", "properties": {
      "amount": {"$ref": "../../shared/money.json#/definitions/amount"}}})");
  dir.write("events/Paid/1.1.json", R"({"type": "object", "properties": {
      "amount": {"$ref": "../../shared/money-strict.json#/definitions/amount"}}})");
  auto report =
      compareSchemaFiles(dir.file("events/Paid/1.0.json"), dir.file("events/Paid/1.1.json"));
  ASSERT_TRUE(report.ok()) << report.error().message;
  const auto c =
      only(*report, SchemaChangeKind::kBoundTightened, "/properties/amount/exclusiveMinimum");
  EXPECT_EQ(c.location,
            dir.file("shared/money-strict.json") + "#/definitions/amount/exclusiveMinimum");
  EXPECT_EQ(c.message, "lower bound tightened from minimum 0 to exclusiveMinimum 0");
}

TEST(SchemaCompatibility, RecursiveSchemasTerminate) {
  const json tree = json::parse(R"({"type": "object", "properties": {
      "name": {"type": "string"},
      "children": {"type": "array", "items": {"$ref": "#"}}}})");
  EXPECT_TRUE(compare(tree, tree).changes.empty());
  json next = tree;
  next["properties"]["name"]["maxLength"] = 10;
  const auto report = compare(tree, next);
  EXPECT_EQ(breakingPointers(report), (std::vector<std::string>{"/properties/name/maxLength"}))
      << dump(report);
}

TEST(SchemaCompatibility, BadReferencesAndNonSchemasAreBadInput) {
  json dangling = base();
  dangling["properties"]["orderId"] = {{"$ref", "#/definitions/nothing"}};
  auto result = compareSchemas(base(), dangling);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(result.error().message.find("#/definitions/nothing"), std::string::npos)
      << result.error().message;

  json toFile = base();
  toFile["properties"]["orderId"] = {{"$ref", "common.json#/definitions/uuid"}};
  EXPECT_FALSE(compareSchemas(base(), toFile).ok());

  json loop = base();
  loop["definitions"]["a"] = {{"$ref", "#/definitions/b"}};
  loop["definitions"]["b"] = {{"$ref", "#/definitions/a"}};
  loop["properties"]["orderId"] = {{"$ref", "#/definitions/a"}};
  EXPECT_FALSE(compareSchemas(base(), loop).ok());

  json notASchema = base();
  notASchema["properties"]["note"] = 42;
  result = compareSchemas(base(), notASchema);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("#/properties/note"), std::string::npos)
      << result.error().message;

  EXPECT_FALSE(compareSchemaFiles("/nonexistent/1.0.json", "/nonexistent/1.1.json").ok());
}

// ---- types, enums, const -----------------------------------------------------------------------

TEST(SchemaCompatibility, TypeChangedNarrowedOrWidened) {
  json changed = base();
  changed["properties"]["note"] = {{"type", "integer"}};
  const auto c =
      only(compare(base(), changed), SchemaChangeKind::kTypeChanged, "/properties/note/type");
  EXPECT_TRUE(c.breaking);  // and maxLength is not reported: the types have nothing in common

  json nullable = base();
  nullable["properties"]["note"]["type"] = {"string", "null"};
  const auto widened =
      only(compare(base(), nullable), SchemaChangeKind::kTypeWidened, "/properties/note/type");
  EXPECT_FALSE(widened.breaking);
  only(compare(nullable, base()), SchemaChangeKind::kTypeNarrowed, "/properties/note/type");

  json integer = base();
  integer["properties"]["total"]["type"] = "integer";
  only(compare(base(), integer), SchemaChangeKind::kTypeNarrowed, "/properties/total/type");
  EXPECT_FALSE(compare(integer, base()).breaking());  // integer -> number widens

  json untyped = base();
  untyped["properties"]["note"].erase("type");
  EXPECT_FALSE(compare(base(), untyped).breaking());
  only(compare(untyped, base()), SchemaChangeKind::kTypeNarrowed, "/properties/note/type");
}

TEST(SchemaCompatibility, EnumNarrowedIsBreakingWidenedIsAdditive) {
  json narrowed = base();
  narrowed["definitions"]["status"]["enum"] = {"PENDING", "PAID"};
  const auto c =
      only(compare(base(), narrowed), SchemaChangeKind::kEnumNarrowed, "/properties/status/enum");
  EXPECT_TRUE(c.breaking);
  EXPECT_EQ(c.location, "#/definitions/status/enum");
  EXPECT_NE(c.message.find("\"SHIPPED\""), std::string::npos) << c.message;

  json widened = base();
  widened["definitions"]["status"]["enum"].push_back("DELIVERED");
  EXPECT_FALSE(
      only(compare(base(), widened), SchemaChangeKind::kEnumWidened, "/properties/status/enum")
          .breaking);

  json added = base();
  added["properties"]["note"]["enum"] = {"a", "b"};
  only(compare(base(), added), SchemaChangeKind::kEnumNarrowed, "/properties/note/enum");
  EXPECT_FALSE(compare(added, base()).breaking());
}

TEST(SchemaCompatibility, ConstAddedOrChangedIsBreakingRemovedIsAdditive) {
  json added = base();
  added["properties"]["note"]["const"] = "x";
  only(compare(base(), added), SchemaChangeKind::kConstChanged, "/properties/note/const");
  json changed = added;
  changed["properties"]["note"]["const"] = "y";
  only(compare(added, changed), SchemaChangeKind::kConstChanged, "/properties/note/const");
  EXPECT_FALSE(compare(added, base()).breaking()) << dump(compare(added, base()));
  // const "x" -> enum ["x", "y"] widens.
  json enumerated = base();
  enumerated["properties"]["note"]["enum"] = {"x", "y"};
  EXPECT_FALSE(compare(added, enumerated).breaking()) << dump(compare(added, enumerated));
}

// ---- additionalProperties ----------------------------------------------------------------------

TEST(SchemaCompatibility, ClosingAdditionalPropertiesIsBreaking) {
  json closed = base();
  closed["additionalProperties"] = false;
  const auto c = only(compare(base(), closed), SchemaChangeKind::kAdditionalPropertiesClosed,
                      "/additionalProperties");
  EXPECT_TRUE(c.breaking);
  EXPECT_EQ(c.instancePath, "/*");

  json nested = base();
  nested["definitions"]["lineItem"]["additionalProperties"] = false;
  only(compare(base(), nested), SchemaChangeKind::kAdditionalPropertiesClosed,
       "/properties/items/items/additionalProperties");

  json typed = base();
  typed["additionalProperties"] = {{"type", "string"}};
  only(compare(base(), typed), SchemaChangeKind::kAdditionalPropertiesClosed,
       "/additionalProperties");

  json explicitlyOpen = base();
  explicitlyOpen["additionalProperties"] = true;
  EXPECT_TRUE(compare(base(), explicitlyOpen).changes.empty());
}

TEST(SchemaCompatibility, OpeningAdditionalPropertiesIsAdditive) {
  json closed = base();
  closed["additionalProperties"] = false;
  EXPECT_FALSE(only(compare(closed, base()), SchemaChangeKind::kAdditionalPropertiesOpened,
                    "/additionalProperties")
                   .breaking);
  // A new property where the old schema was closed: additive too.
  json closedPlus = closed;
  closedPlus["properties"]["giftWrap"] = {{"type", "boolean"}};
  only(compare(closed, closedPlus), SchemaChangeKind::kPropertyAdded, "/properties/giftWrap");
}

TEST(SchemaCompatibility, AdditionalPropertiesSchemasAreComparedRecursively) {
  json oldSchema = base();
  oldSchema["additionalProperties"] = {{"type", "string"}};
  json next = oldSchema;
  next["additionalProperties"]["maxLength"] = 10;
  only(compare(oldSchema, next), SchemaChangeKind::kBoundTightened,
       "/additionalProperties/maxLength");
  // A new property must accept what the old additionalProperties let through under its name.
  json named = oldSchema;
  named["properties"]["extra"] = {{"type", "integer"}};
  const auto report = compare(oldSchema, named);
  EXPECT_EQ(breakingPointers(report), (std::vector<std::string>{"/properties/extra/type"}))
      << dump(report);
}

// ---- bounds, pattern, format -------------------------------------------------------------------

TEST(SchemaCompatibility, NumericBounds) {
  json raised = base();
  raised["properties"]["total"]["minimum"] = 1;
  only(compare(base(), raised), SchemaChangeKind::kBoundTightened, "/properties/total/minimum");
  EXPECT_FALSE(compare(raised, base()).breaking());

  json exclusive = base();
  exclusive["properties"]["total"].erase("minimum");
  exclusive["properties"]["total"]["exclusiveMinimum"] = 0;
  only(compare(base(), exclusive), SchemaChangeKind::kBoundTightened,
       "/properties/total/exclusiveMinimum");
  json looser = base();
  looser["properties"]["total"].erase("minimum");
  looser["properties"]["total"]["exclusiveMinimum"] = -1;
  EXPECT_FALSE(compare(base(), looser).breaking()) << dump(compare(base(), looser));

  json capped = base();
  capped["properties"]["total"]["maximum"] = 1000;
  only(compare(base(), capped), SchemaChangeKind::kBoundTightened, "/properties/total/maximum");
  json higher = capped;
  higher["properties"]["total"]["maximum"] = 2000;
  EXPECT_FALSE(
      only(compare(capped, higher), SchemaChangeKind::kBoundLoosened, "/properties/total/maximum")
          .breaking);
  json exclusiveMax = capped;
  exclusiveMax["properties"]["total"]["exclusiveMaximum"] = 1000;
  only(compare(capped, exclusiveMax), SchemaChangeKind::kBoundTightened,
       "/properties/total/exclusiveMaximum");

  json cents = base();
  cents["properties"]["total"]["multipleOf"] = 0.01;
  only(compare(base(), cents), SchemaChangeKind::kBoundTightened, "/properties/total/multipleOf");
  json nickels = base();
  nickels["properties"]["total"]["multipleOf"] = 0.05;
  only(compare(cents, nickels), SchemaChangeKind::kBoundTightened, "/properties/total/multipleOf");
  EXPECT_FALSE(compare(nickels, cents).breaking()) << dump(compare(nickels, cents));
}

TEST(SchemaCompatibility, LengthBounds) {
  json shorter = base();
  shorter["properties"]["note"]["maxLength"] = 100;
  only(compare(base(), shorter), SchemaChangeKind::kBoundTightened, "/properties/note/maxLength");
  EXPECT_FALSE(compare(shorter, base()).breaking());
  json unbounded = base();
  unbounded["properties"]["note"].erase("maxLength");
  EXPECT_FALSE(only(compare(base(), unbounded), SchemaChangeKind::kBoundLoosened,
                    "/properties/note/maxLength")
                   .breaking);
  json zero = base();
  zero["properties"]["note"]["minLength"] = 0;  // the same as no minLength
  EXPECT_TRUE(compare(base(), zero).changes.empty());
  json minimum = base();
  minimum["properties"]["note"]["minLength"] = 1;
  only(compare(base(), minimum), SchemaChangeKind::kBoundTightened, "/properties/note/minLength");
}

TEST(SchemaCompatibility, PatternAndFormatAddedOrChangedAreBreaking) {
  json pattern = base();
  pattern["properties"]["note"]["pattern"] = "^[a-z]*$";
  only(compare(base(), pattern), SchemaChangeKind::kPatternChanged, "/properties/note/pattern");
  EXPECT_FALSE(
      only(compare(pattern, base()), SchemaChangeKind::kPatternRemoved, "/properties/note/pattern")
          .breaking);
  json relaxed = base();
  relaxed["definitions"]["uuid"]["pattern"] = "^.*$";  // wider, but regexes are not compared
  only(compare(base(), relaxed), SchemaChangeKind::kPatternChanged, "/properties/orderId/pattern");

  json email = base();
  email["properties"]["customer"]["properties"]["email"]["format"] = "email";
  only(compare(base(), email), SchemaChangeKind::kFormatChanged,
       "/properties/customer/properties/email/format");
  json idn = email;
  idn["properties"]["customer"]["properties"]["email"]["format"] = "idn-email";
  only(compare(email, idn), SchemaChangeKind::kFormatChanged,
       "/properties/customer/properties/email/format");
  EXPECT_FALSE(compare(email, base()).breaking());
}

// ---- combinators ------------------------------------------------------------------------------

TEST(SchemaCompatibility, AllOfAnyOfOneOf) {
  json oldSchema = base();
  oldSchema["allOf"] = {{{"required", {"orderId"}}}};
  oldSchema["anyOf"] = {{{"required", {"note"}}}, {{"required", {"total"}}}};
  oldSchema["oneOf"] = {{{"required", {"orderId"}}}};

  json allOf = oldSchema;
  allOf["allOf"].push_back({{"required", {"total"}}});
  only(compare(oldSchema, allOf), SchemaChangeKind::kConstraintAdded, "/allOf/1");

  json anyOfAdded = oldSchema;
  anyOfAdded["anyOf"].push_back({{"required", {"customer"}}});
  EXPECT_FALSE(only(compare(oldSchema, anyOfAdded), SchemaChangeKind::kAlternativeAdded, "/anyOf/2")
                   .breaking);
  json anyOfRemoved = oldSchema;
  anyOfRemoved["anyOf"].erase(0);
  only(compare(oldSchema, anyOfRemoved), SchemaChangeKind::kAlternativeRemoved, "/anyOf/0");

  json oneOf = oldSchema;
  oneOf["oneOf"].push_back({{"required", {"note"}}});
  EXPECT_TRUE(
      only(compare(oldSchema, oneOf), SchemaChangeKind::kAlternativeAdded, "/oneOf/1").breaking);

  // A changed branch is compared like any schema, at its index.
  json branch = oldSchema;
  branch["anyOf"][1]["required"].push_back("customer");
  only(compare(oldSchema, branch), SchemaChangeKind::kRequiredAdded, "/anyOf/1/required/1");

  json noAnyOf = base();
  only(compare(noAnyOf,
               [&] {
                 json s = noAnyOf;
                 s["anyOf"] = {{{"required", {"note"}}}};
                 return s;
               }()),
       SchemaChangeKind::kConstraintAdded, "/anyOf/0");
}

TEST(SchemaCompatibility, IfThenElse) {
  json oldSchema = base();
  oldSchema["if"] = {{"properties", {{"status", {{"const", "SHIPPED"}}}}}};
  oldSchema["then"] = {{"required", {"note"}}};

  json stricterThen = oldSchema;
  stricterThen["then"]["required"].push_back("total");
  only(compare(oldSchema, stricterThen), SchemaChangeKind::kRequiredAdded, "/then/required/1");

  json added = base();
  added["if"] = oldSchema["if"];
  added["then"] = oldSchema["then"];
  only(compare(base(), added), SchemaChangeKind::kRequiredAdded, "/then/required/0");
  EXPECT_FALSE(compare(added, base()).breaking());

  json otherCondition = oldSchema;
  otherCondition["if"]["properties"]["status"]["const"] = "PAID";
  only(compare(oldSchema, otherCondition), SchemaChangeKind::kUncomparable, "/if");

  // A narrower condition (the rewrite of OrderUpdatedEvent 1.0 for Ajv's strict mode) only
  // makes `then` apply less.
  json narrower = oldSchema;
  narrower["if"]["properties"]["status"]["type"] = "string";
  const auto report = compare(oldSchema, narrower);
  EXPECT_FALSE(report.breaking()) << dump(report);
}

TEST(SchemaCompatibility, NotIsComparedTheOtherWayRound) {
  json oldSchema = base();
  oldSchema["properties"]["note"]["not"] = {{"enum", {"a", "b"}}};
  json more = oldSchema;
  more["properties"]["note"]["not"]["enum"].push_back("c");  // refuses "c" too
  EXPECT_EQ(breakingPointers(compare(oldSchema, more)).size(), 1u)
      << dump(compare(oldSchema, more));
  EXPECT_FALSE(compare(more, oldSchema).breaking()) << dump(compare(more, oldSchema));
  json added = base();
  added["properties"]["note"]["not"] = {{"const", "x"}};
  only(compare(base(), added), SchemaChangeKind::kConstraintAdded, "/properties/note/not");
}

TEST(SchemaCompatibility, FalseSchemasAndForbiddenProperties) {
  json forbidden = base();
  forbidden["properties"]["secret"] = false;
  only(compare(base(), forbidden), SchemaChangeKind::kConstraintAdded, "/properties/secret");
  json nothing = base();
  nothing["properties"]["note"] = false;
  only(compare(base(), nothing), SchemaChangeKind::kConstraintAdded, "/properties/note");
  EXPECT_FALSE(compare(nothing, base()).breaking());
}

TEST(SchemaCompatibility, UnknownKeywordsAreNotAssumedCompatible) {
  json next = base();
  next["properties"]["note"]["x-max-words"] = 3;
  const auto c =
      only(compare(base(), next), SchemaChangeKind::kUncomparable, "/properties/note/x-max-words");
  EXPECT_TRUE(c.breaking);
}

TEST(SchemaCompatibility, ManyChangesAreAllListed) {
  // A realistic bad "minor": a field retyped, one removed, a new required one, an enum value
  // dropped, and one harmless addition. Every breaking one is named by its pointer.
  json next = base();
  next["properties"]["total"] = {{"type", "string"}};
  next["properties"].erase("note");
  next["properties"]["currency"] = {{"type", "string"}};
  next["required"].push_back("currency");
  next["definitions"]["status"]["enum"] = {"PENDING", "PAID"};
  next["properties"]["giftWrap"] = {{"type", "boolean"}};
  const auto report = compare(base(), next);
  auto pointers = breakingPointers(report);
  std::sort(pointers.begin(), pointers.end());
  EXPECT_EQ(pointers, (std::vector<std::string>{"/properties/note", "/properties/status/enum",
                                                "/properties/total/type", "/required/4"}))
      << dump(report);
  EXPECT_EQ(report.changes.size(), 5u) << dump(report);
}

}  // namespace
}  // namespace orders
