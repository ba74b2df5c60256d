// Stable digests: SHA-256 of bytes, the same on every run and platform.
// Trial ids are the first 16 hex digits of the digest of a trial's canonical
// parameter text and seed.
#pragma once

#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace cir {

// The SHA-256 of bytes given in pieces (a file read in blocks).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  // Lower-case hex of the digest of everything given (64 characters); the
  // object takes no more bytes after it.
  std::string hex();

 private:
  evp_md_ctx_st* context_;
};

// Lower-case hex SHA-256 of `bytes` (64 characters).
std::string sha256_hex(std::string_view bytes);

// The first 16 hex digits of sha256_hex(bytes): 64 bits, enough to tell the
// trials of any sweep apart.
std::string short_digest(std::string_view bytes);

}  // namespace cir
