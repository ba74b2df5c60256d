// The TensorBoard event framing and protobuf encoding against published
// vectors (RFC 3720's CRC-32C, protobuf's encoding guide).
#include <gtest/gtest.h>

#include <string>

#include "analysis/tfevents.hpp"

namespace cir::analysis::tfevents {
namespace {

TEST(TfEvents, Crc32cMatchesPublishedVectors) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);            // the CRC catalogue's check value
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4, 32 bytes of zeros
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  const std::uint32_t c = crc32c("abc");
  EXPECT_EQ(masked_crc32c("abc"), ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

TEST(TfEvents, RecordFraming) {
  const std::string r = record("hello");
  ASSERT_EQ(r.size(), 8u + 4u + 5u + 4u);
  EXPECT_EQ(r.substr(0, 8), std::string("\x05\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(r.substr(12, 5), "hello");
  const std::uint32_t data_crc = masked_crc32c("hello");
  EXPECT_EQ(r.substr(17), std::string(reinterpret_cast<const char*>(&data_crc), 4));  // little endian host
}

TEST(TfEvents, ProtobufWireFormat) {
  // The encoding guide's examples: field 1 = 150 is 08 96 01; field 2 = "testing" is 12 07 74 65 …
  EXPECT_EQ(Message().varint(1, 150).data(), "\x08\x96\x01");
  EXPECT_EQ(Message().bytes(2, "testing").data(), "\x12\x07testing");
  EXPECT_EQ(Message().float32(2, 1.0f).data(), std::string("\x15\x00\x00\x80\x3f", 5));
  EXPECT_EQ(Message().float64(1, 1.0).data(), std::string("\x09\0\0\0\0\0\0\xf0\x3f", 9));
  Message inner;
  inner.varint(1, 150);
  EXPECT_EQ(Message().message(3, inner).data(), "\x1a\x03\x08\x96\x01");
  EXPECT_EQ(Message().int64(2, -1).data(), "\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
}

}  // namespace
}  // namespace cir::analysis::tfevents
