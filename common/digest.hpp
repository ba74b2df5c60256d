// Stable digests: SHA-256 of bytes, the same on every run and platform.
// Trial ids are the first 16 hex digits of the digest of a trial's canonical
// parameter text and seed.
#pragma once

#include <string>
#include <string_view>

namespace cir {

// Lower-case hex SHA-256 of `bytes` (64 characters).
std::string sha256_hex(std::string_view bytes);

// The first 16 hex digits of sha256_hex(bytes): 64 bits, enough to tell the
// trials of any sweep apart.
std::string short_digest(std::string_view bytes);

}  // namespace cir
