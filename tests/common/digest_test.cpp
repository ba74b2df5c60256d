#include "common/digest.hpp"

#include <gtest/gtest.h>

namespace cir {
namespace {

// FIPS 180-2 test vectors: the digest must be the standard SHA-256, so trial
// ids are the same on every machine and in Python (hashlib.sha256).
TEST(Digest, MatchesStandardSha256) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Digest, ShortDigestIsThePrefix) {
  EXPECT_EQ(short_digest("abc"), "ba7816bf8f01cfea");
  EXPECT_NE(short_digest("{\"loss.gamma0\":1}#0"), short_digest("{\"loss.gamma0\":1}#1"));
}

TEST(Digest, HandlesBinaryBytes) {
  const std::string with_nul("a\0b", 3);
  EXPECT_NE(sha256_hex(with_nul), sha256_hex("a"));
  EXPECT_EQ(sha256_hex(with_nul).size(), 64u);
}

// A file read in blocks (the store's checksum, a weight file's digest)
// has the digest of its whole bytes, whatever the blocks.
TEST(Digest, BytesGivenInPiecesHaveTheDigestOfTheWhole) {
  const std::string text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{64}, text.size()}) {
    Sha256 digest;
    for (std::size_t at = 0; at < text.size(); at += piece)
      digest.update(std::string_view(text).substr(at, piece));
    EXPECT_EQ(digest.hex(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") << piece;
  }
  EXPECT_EQ(Sha256().hex(), sha256_hex(""));
}

}  // namespace
}  // namespace cir
