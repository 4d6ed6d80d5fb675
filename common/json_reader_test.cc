#include "common/json_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/json_writer.h"

namespace sagewai::json {
namespace {

using ::testing::HasSubstr;

Value ParseOk(absl::string_view text) {
  absl::StatusOr<Value> v = Parse(text);
  EXPECT_TRUE(v.ok()) << "input: " << text << "\nstatus: " << v.status();
  return v.ok() ? *std::move(v) : Value();
}

std::string ParseError(absl::string_view text, const ParseOptions& options = {}) {
  absl::StatusOr<Value> v = Parse(text, options);
  EXPECT_FALSE(v.ok()) << "accepted: " << text;
  if (v.ok()) return "";
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(v.status().message());
}

// Parses and serializes again.
std::string Reserialize(absl::string_view text) { return Serialize(ParseOk(text)); }

TEST(JsonParseTest, Scalars) {
  EXPECT_TRUE(ParseOk("null").is_null());
  EXPECT_EQ(ParseOk("true").AsBool(), true);
  EXPECT_EQ(ParseOk("false").AsBool(), false);
  EXPECT_EQ(ParseOk("42").AsInt(), 42);
  EXPECT_EQ(ParseOk("-7").AsInt(), -7);
  EXPECT_EQ(ParseOk("0").AsInt(), 0);
  EXPECT_EQ(ParseOk("-0").AsInt(), 0);
  EXPECT_EQ(ParseOk("\"hi\"").AsString(), "hi");
  EXPECT_EQ(ParseOk(" \t\r\n 1 \n").AsInt(), 1);
}

TEST(JsonParseTest, EveryShortEscapeAndEveryAsciiByteRoundTrips) {
  EXPECT_EQ(ParseOk(R"("\" \\ \/ \b \f \n \r \t")").AsString(), "\" \\ / \b \f \n \r \t");
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  const std::string quoted = Quote(all);
  EXPECT_EQ(quoted.find("\\/"), std::string::npos) << "the writer never escapes '/'";
  EXPECT_EQ(ParseOk(quoted).AsString(), all);
}

TEST(JsonParseTest, AccessorsRefuseOtherTypes) {
  const Value s = ParseOk("\"1\"");
  EXPECT_FALSE(s.AsInt().has_value());
  EXPECT_FALSE(s.AsDouble().has_value());
  EXPECT_FALSE(s.AsBool().has_value());
  EXPECT_EQ(s.AsArray(), nullptr);
  EXPECT_EQ(s.AsObject(), nullptr);
  EXPECT_EQ(s.Find("x"), nullptr);
  EXPECT_FALSE(ParseOk("1").AsString().has_value());
  EXPECT_FALSE(ParseOk("null").AsBool().has_value());
  EXPECT_EQ(TypeName(s.type()), "string");
  EXPECT_EQ(TypeName(ParseOk("{}").type()), "object");
}

TEST(JsonParseTest, IntegersKeepInt64AndDouble) {
  const Value max = ParseOk("9223372036854775807");
  EXPECT_TRUE(max.is_int());
  EXPECT_EQ(max.AsInt(), std::numeric_limits<int64_t>::max());
  EXPECT_DOUBLE_EQ(*max.AsDouble(), 9223372036854775807.0);
  EXPECT_EQ(ParseOk("-9223372036854775808").AsInt(), std::numeric_limits<int64_t>::min());
  // 2^53 + 1 is not a double, but stays exact as an int64.
  EXPECT_EQ(ParseOk("9007199254740993").AsInt(), int64_t{9007199254740993});
}

TEST(JsonParseTest, NonIntegerNumbersAreDoublesOnly) {
  for (absl::string_view text : {"1.0", "1e2", "1E+2", "-0.5", "9223372036854775808",
                                 "-9223372036854775809", "123456789012345678901234567890"}) {
    const Value v = ParseOk(text);
    EXPECT_TRUE(v.is_number()) << text;
    EXPECT_FALSE(v.is_int()) << text;
    EXPECT_FALSE(v.AsInt().has_value()) << text;
    EXPECT_TRUE(v.AsDouble().has_value()) << text;
  }
  EXPECT_DOUBLE_EQ(*ParseOk("1e2").AsDouble(), 100.0);
  EXPECT_DOUBLE_EQ(*ParseOk("-0.5").AsDouble(), -0.5);
  EXPECT_DOUBLE_EQ(*ParseOk("2.5e-3").AsDouble(), 0.0025);
  EXPECT_EQ(*ParseOk("1e-400").AsDouble(), 0.0);  // underflow rounds to zero
}

TEST(JsonParseTest, NumbersSerializeExactlyAsWritten) {
  for (absl::string_view text : {"123456789012345678901234567890", "-9223372036854775809", "1.50",
                                 "1E+2", "0.1", "-0.0", "1e-400", "18446744073709551615"}) {
    EXPECT_EQ(Reserialize(text), text);
  }
}

TEST(JsonParseTest, RejectsBadNumbers) {
  EXPECT_THAT(ParseError("01"), HasSubstr("leading zeros"));
  EXPECT_THAT(ParseError("-01"), HasSubstr("leading zeros"));
  EXPECT_THAT(ParseError("-"), HasSubstr("expected a digit"));
  EXPECT_THAT(ParseError("1."), HasSubstr("after the decimal point"));
  EXPECT_THAT(ParseError("1e"), HasSubstr("exponent"));
  EXPECT_THAT(ParseError("1e+"), HasSubstr("exponent"));
  EXPECT_THAT(ParseError("1e400"), HasSubstr("out of range"));
  EXPECT_THAT(ParseError("-1e400"), HasSubstr("out of range"));
  for (absl::string_view text : {"+1", ".5", "NaN", "nan", "Infinity", "-Infinity", "inf", "0x10",
                                 "1.5.2", "--1", "1_000", "0.e1"}) {
    ParseError(text);
  }
}

TEST(JsonParseTest, Strings) {
  EXPECT_EQ(ParseOk(R"("a\"b\\c\/d\b\f\n\r\t")").AsString(), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(ParseOk(R"("\u0041\u00e9\u20AC")").AsString(), "A\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(ParseOk(R"("\ud83d\ude00")").AsString(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(ParseOk(R"("\u0000")").AsString(), absl::string_view("\0", 1));
  EXPECT_EQ(ParseOk("\"h\xC3\xA9llo \xF0\x9F\x98\x80\"").AsString(),
            "h\xC3\xA9llo \xF0\x9F\x98\x80");
  EXPECT_EQ(ParseOk("\"\x7F\"").AsString(), "\x7F");  // DEL is not a control char in JSON
}

TEST(JsonParseTest, RejectsBadStrings) {
  EXPECT_THAT(ParseError("\"abc"), HasSubstr("unterminated string starting at byte 0"));
  EXPECT_THAT(ParseError("\"a\nb\""), HasSubstr("control character"));
  EXPECT_THAT(ParseError(absl::string_view("\"a\0b\"", 5)), HasSubstr("control character"));
  EXPECT_THAT(ParseError("\"\\x41\""), HasSubstr("invalid escape"));
  EXPECT_THAT(ParseError("\"\\u12\""), HasSubstr("4 hex digits"));
  EXPECT_THAT(ParseError("\"\\u12G4\""), HasSubstr("4 hex digits"));
  EXPECT_THAT(ParseError("\"\\"), HasSubstr("escape"));
  // Surrogates: lone high, lone low, high followed by a non-surrogate.
  EXPECT_THAT(ParseError(R"("\ud83d")"), HasSubstr("unpaired high surrogate"));
  EXPECT_THAT(ParseError(R"("\ud83dx")"), HasSubstr("unpaired high surrogate"));
  EXPECT_THAT(ParseError(R"("\ud83d\u0041")"), HasSubstr("unpaired high surrogate"));
  EXPECT_THAT(ParseError(R"("\ude00")"), HasSubstr("unpaired low surrogate"));
  EXPECT_THAT(ParseError(R"("\ud83d\ud83d")"), HasSubstr("unpaired high surrogate"));
  // Invalid UTF-8: stray continuation, bad lead, truncated, overlong,
  // encoded surrogate, above U+10FFFF.
  for (absl::string_view bad :
       {"\"\x80\"", "\"\xFF\"", "\"\xC3\"", "\"\xE2\x82\"", "\"\xC0\xAF\"", "\"\xE0\x80\xAF\"",
        "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\"\xF8\x88\x80\x80\x80\""}) {
    EXPECT_THAT(ParseError(bad), HasSubstr("invalid UTF-8")) << testing::PrintToString(bad);
  }
}

TEST(JsonParseTest, InvalidUtf8OutsideStringsIsRejected) {
  EXPECT_THAT(ParseError("\xC3\xA9"), HasSubstr("byte 0xC3"));
  EXPECT_THAT(ParseError("\xEF\xBB\xBF{}"), HasSubstr("byte 0xEF"));  // BOM
}

TEST(JsonParseTest, ArraysAndObjects) {
  const Value v = ParseOk(R"( { "a" : [1, "x", null, true, {"b": []}], "c": {} } )");
  ASSERT_TRUE(v.is_object());
  const Array* a = v.Find("a")->AsArray();
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->size(), 5u);
  EXPECT_EQ((*a)[0].AsInt(), 1);
  EXPECT_EQ((*a)[1].AsString(), "x");
  EXPECT_TRUE((*a)[2].is_null());
  EXPECT_EQ((*a)[3].AsBool(), true);
  EXPECT_TRUE((*a)[4].Find("b")->AsArray()->empty());
  EXPECT_TRUE(v.Find("c")->AsObject()->empty());
  EXPECT_EQ(v.Find("missing"), nullptr);
  EXPECT_EQ(Serialize(v), R"({"a":[1,"x",null,true,{"b":[]}],"c":{}})");
}

TEST(JsonParseTest, ObjectKeepsInsertionOrderAndLastDuplicateWins) {
  const Value v = ParseOk(R"({"z":1,"a":2,"z":3,"m":4})");
  EXPECT_EQ(v.Find("z")->AsInt(), 3);
  EXPECT_EQ(v.AsObject()->size(), 3u);
  EXPECT_EQ(Serialize(v), R"({"z":3,"a":2,"m":4})");
}

TEST(JsonParseTest, DuplicateKeysCanBeRefused) {
  ParseOptions strict;
  strict.reject_duplicate_keys = true;
  EXPECT_EQ(ParseError(R"({"z":1,"a":2,"z":3})", strict),
            "invalid JSON at byte 13: duplicate object key \"z\", found '\"'");
  // At any depth, and by value after unescaping.
  EXPECT_THAT(ParseError(R"([{"a":{"k":1,"\u006b":2}}])", strict),
              ::testing::HasSubstr("duplicate object key \"k\""));
  // The same key in sibling objects is no duplicate.
  EXPECT_EQ(Serialize(*Parse(R"([{"k":1},{"k":2}])", strict)), R"([{"k":1},{"k":2}])");
  std::string big = "{";
  for (int i = 0; i < 100; ++i) absl::StrAppend(&big, i ? "," : "", "\"k", i, "\":", i);
  EXPECT_TRUE(Parse(big + "}", strict).ok());
  EXPECT_THAT(ParseError(big + ",\"k42\":0}", strict), ::testing::HasSubstr("\"k42\""));
}

TEST(JsonParseTest, LargeObjectsUseTheIndex) {
  std::string text = "{";
  for (int i = 0; i < 1000; ++i) absl::StrAppend(&text, i ? "," : "", "\"k", i, "\":", i);
  absl::StrAppend(&text, ",\"k5\":\"dup\",\"k999\":\"dup\"}");
  const Value v = ParseOk(text);
  ASSERT_EQ(v.AsObject()->size(), 1000u);
  EXPECT_EQ(v.Find("k0")->AsInt(), 0);
  EXPECT_EQ(v.Find("k777")->AsInt(), 777);
  EXPECT_EQ(v.Find("k5")->AsString(), "dup");
  EXPECT_EQ(v.Find("k999")->AsString(), "dup");
  EXPECT_EQ(v.Find("k1000"), nullptr);
  EXPECT_EQ(v.AsObject()->begin()[5].first, "k5");
  // A copy keeps a working index.
  const Value copy = v;
  EXPECT_EQ(copy.Find("k777")->AsInt(), 777);
  EXPECT_EQ(copy, v);
  Object assigned;
  assigned = *v.AsObject();
  assigned.Set("k777", Value("changed"));
  assigned.Set("new", Value(1));
  EXPECT_EQ(assigned.Find("k777")->AsString(), "changed");
  EXPECT_EQ(assigned.Find("new")->AsInt(), 1);
  EXPECT_EQ(v.Find("k777")->AsInt(), 777);
  EXPECT_EQ(v.Find("new"), nullptr);
}

TEST(JsonParseTest, RejectsStructuralErrors) {
  EXPECT_THAT(ParseError(""), HasSubstr("at byte 0: expected a JSON value"));
  EXPECT_THAT(ParseError("   "), HasSubstr("found end of input"));
  EXPECT_THAT(ParseError("[1,]"), HasSubstr("at byte 3: expected a JSON value"));
  EXPECT_THAT(ParseError("[1 2]"), HasSubstr("at byte 3: expected ',' or ']'"));
  EXPECT_THAT(ParseError("{\"a\":1,}"), HasSubstr("expected a string as object key"));
  EXPECT_THAT(ParseError("{\"a\" 1}"), HasSubstr("expected ':'"));
  EXPECT_THAT(ParseError("{\"a\":1 \"b\":2}"), HasSubstr("expected ',' or '}'"));
  EXPECT_THAT(ParseError("{a:1}"), HasSubstr("expected a string as object key, found 'a'"));
  EXPECT_THAT(ParseError("['a']"), HasSubstr("found '''"));
  EXPECT_THAT(ParseError("[1"), HasSubstr("found end of input"));
  EXPECT_THAT(ParseError("{"), HasSubstr("found end of input"));
  EXPECT_THAT(ParseError("tru"), HasSubstr("expected 'true'"));
  EXPECT_THAT(ParseError("nul"), HasSubstr("expected 'null'"));
  EXPECT_THAT(ParseError("True"), HasSubstr("expected a JSON value"));
  EXPECT_THAT(ParseError("/* c */ 1"), HasSubstr("expected a JSON value"));
}

TEST(JsonParseTest, RejectsTrailingGarbage) {
  EXPECT_THAT(ParseError("1 2"), HasSubstr("at byte 2: expected the end of input"));
  EXPECT_THAT(ParseError("{}x"), HasSubstr("at byte 2"));
  EXPECT_THAT(ParseError("truex"), HasSubstr("found 'x'"));
  EXPECT_THAT(ParseError("nullnull"), HasSubstr("end of input"));
  EXPECT_THAT(ParseError(absl::string_view("1\0", 2)), HasSubstr("byte 0x00"));
  ParseError("{}\f");  // form feed is not JSON whitespace
  ParseError("\v1");
}

TEST(JsonParseTest, DepthLimit) {
  const std::string ok = std::string(128, '[') + std::string(128, ']');
  EXPECT_TRUE(Parse(ok).ok());
  const std::string deep = std::string(129, '[') + std::string(129, ']');
  EXPECT_THAT(ParseError(deep), HasSubstr("at byte 128: nesting deeper than 128 levels"));
  std::string objects;
  for (int i = 0; i < 129; ++i) objects += "{\"a\":";
  objects += "1" + std::string(129, '}');
  EXPECT_THAT(ParseError(objects), HasSubstr("nesting deeper than 128"));

  ParseOptions shallow;
  shallow.max_depth = 1;
  EXPECT_TRUE(Parse("[1,2]", shallow).ok());
  EXPECT_TRUE(Parse("7", shallow).ok());
  EXPECT_THAT(ParseError("[[1]]", shallow), HasSubstr("nesting deeper than 1 levels"));
  shallow.max_depth = 0;
  EXPECT_TRUE(Parse("\"s\"", shallow).ok());
  ParseError("[]", shallow);
}

TEST(JsonParseTest, HugeNestingDoesNotOverflowTheStack) {
  // Far deeper than any stack could recurse, also with a raised limit.
  const std::string deep(10'000'000, '[');
  EXPECT_THAT(ParseError(deep), HasSubstr("nesting deeper than 128"));
  ParseOptions options;
  options.max_depth = 1'000'000;
  EXPECT_THAT(ParseError(deep, options),
              HasSubstr(absl::StrCat("nesting deeper than ", kMaxSupportedDepth)));
  std::string mixed;
  for (int i = 0; i < 100000; ++i) mixed += "{\"a\":[";
  ParseError(mixed);
}

TEST(JsonParseTest, SizeLimit) {
  ParseOptions options;
  options.max_bytes = 8;
  EXPECT_TRUE(Parse("[1,2,33]", options).ok());
  EXPECT_THAT(ParseError("[1,2,333]", options),
              HasSubstr("JSON input is 9 bytes, over the limit of 8 bytes"));
}

TEST(JsonValueTest, BuildCopyMoveCompare) {
  Object o{{"n", Value(nullptr)}, {"b", Value(true)}, {"i", Value(-3)}, {"d", Value(0.25)}};
  o.Set("s", Value("x\"y"));
  o.Set("a", Value(Array{Value(1), Value(std::string("two")), Value(Array{})}));
  o.Set("i", Value(int64_t{5}));
  Value v(std::move(o));
  EXPECT_EQ(Serialize(v), R"({"n":null,"b":true,"i":5,"d":0.25,"s":"x\"y","a":[1,"two",[]]})");

  Value copy = v;
  EXPECT_EQ(copy, v);
  copy.AsObject()->Set("i", Value(6));
  EXPECT_NE(copy, v);
  EXPECT_EQ(v.Find("i")->AsInt(), 5);

  Value moved = std::move(copy);
  EXPECT_EQ(moved.Find("i")->AsInt(), 6);
  moved = v;
  EXPECT_EQ(moved, v);
  moved = moved;  // self-assignment keeps the value
  EXPECT_EQ(moved, v);
  moved = Value("now a string");
  EXPECT_EQ(moved.AsString(), "now a string");

  EXPECT_EQ(Value(1), Value(1.0));  // numbers compare by value
  EXPECT_NE(Value(1), Value("1"));
  EXPECT_NE(Value(Array{Value(1)}), Value(Array{Value(2)}));
  EXPECT_NE(ParseOk(R"({"a":1,"b":2})"), ParseOk(R"({"b":2,"a":1})"));  // order matters
}

TEST(JsonValueTest, NumbersBuiltInCode) {
  EXPECT_EQ(Serialize(Value(uint64_t{18446744073709551615u})), "18446744073709551615");
  EXPECT_FALSE(Value(uint64_t{18446744073709551615u}).is_int());
  EXPECT_TRUE(Value(uint64_t{7}).is_int());
  EXPECT_EQ(Serialize(Value(std::numeric_limits<int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(Serialize(Value(0.1)), "0.1");
  EXPECT_EQ(Serialize(Value(1e300)), "1e+300");
  EXPECT_EQ(Serialize(Value(std::numeric_limits<double>::quiet_NaN())), "null");
  EXPECT_EQ(Serialize(Value(std::numeric_limits<double>::infinity())), "null");
  // Shortest round trip.
  const double third = 1.0 / 3;
  EXPECT_EQ(*ParseOk(Serialize(Value(third))).AsDouble(), third);
}

TEST(JsonSerializeTest, StringsGoThroughTheWriter) {
  EXPECT_EQ(Serialize(Value(std::string("a\nb\x01\xFF"))), "\"a\\nb\\u0001\xEF\xBF\xBD\"");
  EXPECT_EQ(Reserialize(R"("\u00e9\ud83d\ude00\/")"), "\"\xC3\xA9\xF0\x9F\x98\x80/\"");
  Object o;
  o.Set("k\"ey", Value(1));
  EXPECT_EQ(Serialize(Value(std::move(o))), R"({"k\"ey":1})");
}

// ---- Random inputs: never crash, and whatever parses round-trips. ----

void CheckRoundTrip(absl::string_view text) {
  absl::StatusOr<Value> v = Parse(text);
  if (!v.ok()) {
    EXPECT_THAT(v.status().message(), HasSubstr("at byte")) << v.status();
    return;
  }
  const std::string once = Serialize(*v);
  absl::StatusOr<Value> again = Parse(once);
  ASSERT_TRUE(again.ok()) << "serialized form does not parse: " << once << "\n" << again.status();
  EXPECT_EQ(*again, *v) << once;
  EXPECT_EQ(Serialize(*again), once);
}

TEST(JsonFuzzTest, RandomBytesNeverCrash) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> len(0, 64);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s(len(rng), '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    CheckRoundTrip(s);
  }
}

TEST(JsonFuzzTest, RandomTokenSoupNeverCrashes) {
  // clang-format off
  static const std::vector<std::string> kTokens = {
      "{", "}", "[", "]", ",", ":", " ", "\n", "\"", "\\", "\\u", "d83d", "\\ude00", "a", "0",
      "1", "-", ".", "e", "+", "true", "false", "null", "\"k\"", "\"\\n\"", "\xC3\xA9", "\xFF",
      "1e999", "\x01"};
  // clang-format on
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pick(0, kTokens.size() - 1);
  std::uniform_int_distribution<int> len(1, 40);
  int parsed = 0;
  for (int iter = 0; iter < 30000; ++iter) {
    std::string s;
    for (int n = len(rng); n > 0; --n) s += kTokens[pick(rng)];
    CheckRoundTrip(s);
    parsed += Parse(s).ok();
  }
  EXPECT_GT(parsed, 0);  // the soup does produce some valid documents
}

TEST(JsonFuzzTest, MutatedDocumentsNeverCrash) {
  const std::string seed =
      R"({"jsonrpc":"2.0","id":12,"method":"exec","params":{"tool":"bash","args":)"
      R"({"command":"echo \"hi\"\n\u00e9\ud83d\ude00","env":[1,-2.5e3,true,null,{}]},)"
      R"("call_id":"c-1","timeout_s":1.5}})";
  ASSERT_TRUE(Parse(seed).ok());
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> op(0, 3);
  std::uniform_int_distribution<int> edits(1, 4);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s = seed;
    for (int n = edits(rng); n > 0 && !s.empty(); --n) {
      const size_t at = std::uniform_int_distribution<size_t>(0, s.size() - 1)(rng);
      switch (op(rng)) {
        case 0:
          s[at] = static_cast<char>(byte(rng));
          break;
        case 1:
          s.erase(at, 1);
          break;
        case 2:
          s.insert(at, 1, static_cast<char>(byte(rng)));
          break;
        case 3:
          s.resize(at);
          break;
      }
    }
    CheckRoundTrip(s);
  }
}

}  // namespace
}  // namespace sagewai::json
