// Text from outside: every malformed UTF-8 shape is found at its offset,
// repaired to U+FFFD, and JSON text of it never throws.
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

}  // namespace
}  // namespace cir
