// The header JSON reader: structure, escapes (including \u surrogate pairs), quoting round trips and rejections.
#include "runtime/io/header_json.h"

#include <random>

#include "gtest/gtest.h"

namespace kachi {
namespace {

TEST(HeaderJsonTest, ParsesNestedObjectsArraysStringsAndIntegers) {
  absl::StatusOr<JsonValue> value =
      ParseHeaderJson(" {\"t\" : {\"shape\": [ 3 ,0, 9223372036854775807], \"n\": -12}, \"s\": \"x\"}\n ");
  ASSERT_TRUE(value.ok()) << value.status();
  ASSERT_EQ(value->kind, JsonValue::Kind::kObject);
  const JsonValue* t = value->Find("t");
  ASSERT_NE(t, nullptr);
  const JsonValue* shape = t->Find("shape");
  ASSERT_NE(shape, nullptr);
  ASSERT_EQ(shape->elements.size(), 3u);
  EXPECT_EQ(shape->elements[0].integer, 3);
  EXPECT_EQ(shape->elements[1].integer, 0);
  EXPECT_EQ(shape->elements[2].integer, INT64_MAX);
  EXPECT_EQ(t->Find("n")->integer, -12);
  EXPECT_EQ(value->Find("s")->text, "x");
  EXPECT_EQ(value->Find("absent"), nullptr);
}

TEST(HeaderJsonTest, DecodesEveryEscape) {
  absl::StatusOr<JsonValue> value = ParseHeaderJson(R"("q\" b\\ s\/ \b\f\n\r\t \u00e9 \u20AC \ud83d\ude00")");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->text, "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(HeaderJsonTest, QuoteRoundTripsRandomBytes) {
  std::mt19937 gen(17);
  std::uniform_int_distribution<int> byte(1, 255);
  for (int trial = 0; trial < 50; ++trial) {
    std::string text;
    for (int i = 0; i < 40; ++i) text += static_cast<char>(byte(gen));
    absl::StatusOr<JsonValue> value = ParseHeaderJson(JsonQuote(text));
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(value->text, text);
  }
}

TEST(HeaderJsonTest, RejectsWhatTheHeaderNeverHolds) {
  for (const char* bad :
       {"", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "1.5", "1e3", "01", "-", "null", "true", "\"unterminated",
        "\"\\x\"", "\"\\u12\"", "\"\\udc00\"", "\"\\ud800x\"", "99999999999999999999", "\"a\nb\"", "{} {}"}) {
    absl::StatusOr<JsonValue> value = ParseHeaderJson(bad);
    EXPECT_FALSE(value.ok()) << "accepted: " << bad;
    if (!value.ok()) {
      EXPECT_NE(value.status().message().find("at byte"), absl::string_view::npos) << value.status();
    }
  }
  std::string deep(100, '[');
  EXPECT_NE(ParseHeaderJson(deep).status().message().find("levels of nesting"), absl::string_view::npos);
}

}  // namespace
}  // namespace kachi
