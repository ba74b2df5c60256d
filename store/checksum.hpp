// The checksum block that begins every snapshot of store format 3 on
// (docs/store-format.md "The checksum block"). HDF5 leaves the first
// kUserBlockSize bytes of a file to its user (the user block); cir writes
// there, once HDF5 has closed the file, a SHA-256 of the rest, and checks
// it before HDF5 parses a byte of the file: libhdf5 reads corrupt metadata
// out of bounds (docs/hostile-inputs.md), so a damaged snapshot must never
// reach it. Internal to store/.
//
// The block is text, then NUL bytes up to kUserBlockSize:
//   cir-results snapshot
//   sha256 <64 hex digits>    of every byte after this line, to the file's end
//   format <version>
//   bytes <the file's size>
// Its first two lines keep this form in every later format, so that an
// older cir checks the block of a newer store and refuses it by its version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace cir::store {

inline constexpr std::size_t kUserBlockSize = 512;
// The first format whose snapshots begin with the block; formats 1 and 2
// begin with HDF5's signature.
inline constexpr std::int64_t kFirstSealedVersion = 3;

// Writes the checksum block of format `version` into the snapshot at
// `path`, which HDF5 created with a user block of kUserBlockSize bytes and
// has closed. A failed read or write is the cir::Error of
// common/file_io.hpp, naming the file.
void seal_snapshot(const std::filesystem::path& path, std::int64_t version);

// Checks a whole snapshot file, `bytes` as read from `path`, before HDF5
// sees any of it. Returns the format of its checksum block when the
// SHA-256 matches, and nullopt for a file that begins with HDF5's
// signature: a store of format 1 or 2, which HDF5 reads unverified. Throws
// cir::Error (ExitCode::store_refused) naming `path` for anything else: an
// empty file, a file that is not HDF5, an HDF5 file that does not begin
// with the block, a damaged block, bytes that do not match the checksum
// (truncated or corrupt), and a format newer than kFormatVersion.
std::optional<std::int64_t> check_snapshot(const std::vector<char>& bytes, const std::string& path);

// The refusal of a damaged store: "the store is truncated or corrupt:
// <what>", and what to do about it.
Error corrupt_store(const std::string& path, const std::string& what);

}  // namespace cir::store
