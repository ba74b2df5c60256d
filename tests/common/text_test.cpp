// Text from outside: every malformed UTF-8 shape is found at its offset,
// repaired to U+FFFD, JSON text of it never throws, and every fault of JSON
// text is a parse_error with its position.
#include "common/text.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cir {
namespace {

TEST(Text, FindsTheFirstByteOfEveryMalformedShape) {
  EXPECT_EQ(first_invalid_utf8("plain ascii"), std::string::npos);
  EXPECT_EQ(first_invalid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x91\x97"), std::string::npos);  // é € 👗
  EXPECT_EQ(first_invalid_utf8("caf\xE9 au lait"), 3u);                      // Latin-1 é
  EXPECT_EQ(first_invalid_utf8("ab\x80"), 2u);                               // stray continuation byte
  EXPECT_EQ(first_invalid_utf8("ab\xC0\xAF"), 2u);                           // overlong '/'
  EXPECT_EQ(first_invalid_utf8("ab\xE0\x80\xAF"), 2u);                       // overlong, three bytes
  EXPECT_EQ(first_invalid_utf8("x\xED\xA0\x80"), 1u);                        // UTF-16 surrogate D800
  EXPECT_EQ(first_invalid_utf8("x\xF4\x90\x80\x80"), 1u);                    // above U+10FFFF
  EXPECT_EQ(first_invalid_utf8("x\xF8\x88\x80\x80\x80"), 1u);                // five-byte form
  EXPECT_EQ(first_invalid_utf8("euro \xE2\x82"), 5u);                        // cut at the end
  EXPECT_EQ(first_invalid_utf8("\xE2\x82x"), 0u);                            // cut in the middle
  EXPECT_EQ(first_invalid_utf8("\xFF\xFE"), 0u);                             // UTF-16 byte order mark
  EXPECT_EQ(first_invalid_utf8(std::string("a\0b", 3)), std::string::npos);  // NUL is UTF-8
}

TEST(Text, RepairReplacesEachBadByteAndKeepsTheRest) {
  EXPECT_EQ(repair_utf8("caf\xE9!"), "caf\xEF\xBF\xBD!");
  EXPECT_EQ(repair_utf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(repair_utf8("ok \xC3\xA9"), "ok \xC3\xA9");
  EXPECT_TRUE(valid_utf8(repair_utf8("\xF8\x88\x80\x80\x80\xC0")));
}

TEST(Text, JsonTextOfBytesThatAreNotUtf8NeverThrows) {
  const nlohmann::json message = {{"message", "caption caf\xE9 is bad"}, {"file", "cap.\xFF.json"}};
  EXPECT_THROW((void)message.dump(), nlohmann::json::type_error);  // what aborted the workers
  const std::string text = json_text(message);
  EXPECT_EQ(nlohmann::json::parse(text).at("message"), "caption caf\xEF\xBF\xBD is bad");
  EXPECT_NE(json_text(message, 2).find('\n'), std::string::npos);
}

TEST(Text, JsonBriefShowsOutsideValuesShortAndNeverRecursesDeep) {
  EXPECT_EQ(json_brief(nlohmann::json::parse(R"([2, -1, "x"])")), R"([2,-1,"x"])");
  EXPECT_EQ(json_brief(nlohmann::json("caf\xE9")), "\"caf\xEF\xBF\xBD\"");  // dump() throws on it
  const std::size_t depth = 1'000'000;  // dump() overflows the stack on it
  const auto deep = parse_json(std::string(depth, '[') + std::string(depth, ']'));
  EXPECT_EQ(json_brief(deep), "a nested array");
  const std::string shown = json_brief(nlohmann::json(std::vector<int>(1000, 7)));
  EXPECT_TRUE(shown.starts_with("[7,7,7,")) << shown;
  EXPECT_LT(shown.size(), 90u) << shown;
}

TEST(Text, ANumberBeyondADoubleIsAParseErrorNamingLineAndColumn) {
  const std::string good = R"({"a": [1, -2.5e300, "x"], "b": {"c": null}})";
  EXPECT_EQ(parse_json(good), nlohmann::json::parse(good));
  EXPECT_THROW((void)nlohmann::json::parse("[1e999999]"), nlohmann::json::out_of_range);  // what aborted
  for (const std::string number : {"1e999999", "-1e999999", "1.5E+400"}) {
    try {
      parse_json("[\n  1,\n  " + number + "\n]");
      FAIL() << number << " was parsed";
    } catch (const nlohmann::json::parse_error& e) {
      const std::string at = "at line 3, column " + std::to_string(2 + number.size()) + ": the number " +
                             number + " is beyond the range of a double";
      EXPECT_NE(std::string(e.what()).find(at), std::string::npos) << e.what();
      EXPECT_EQ(e.byte, 9 + number.size());
    }
  }
  EXPECT_THROW(parse_json("1e999999"), nlohmann::json::parse_error);
  EXPECT_THROW(parse_json("[1] x"), nlohmann::json::parse_error);
  EXPECT_THROW(parse_json(""), nlohmann::json::parse_error);
}

}  // namespace
}  // namespace cir
