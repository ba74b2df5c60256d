#include "store/checksum.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string_view>

#include "common/digest.hpp"
#include "common/file_io.hpp"
#include "store/store.hpp"

namespace cir::store {

namespace {

constexpr std::string_view kMagic = "cir-results snapshot\n";
constexpr std::string_view kDigestLabel = "sha256 ";
constexpr std::size_t kDigestSize = 64;
// Where the digest's hex digits begin, and the first byte it covers.
constexpr std::size_t kDigestAt = kMagic.size() + kDigestLabel.size();
constexpr std::size_t kCoveredFrom = kDigestAt + kDigestSize + 1;
constexpr std::string_view kHdf5Signature = "\211HDF\r\n\032\n";

std::string block_text(const std::string& digest, std::int64_t version, std::uintmax_t size) {
  std::string block = std::string(kMagic) + std::string(kDigestLabel) + digest + "\nformat " +
                      std::to_string(version) + "\nbytes " + std::to_string(size) + "\n";
  block.resize(kUserBlockSize, '\0');
  return block;
}

// The fields after the digest line: "format <version>\nbytes <size>\n",
// then NUL bytes to the end of the block.
struct Fields {
  std::int64_t version = 0;
  std::uintmax_t size = 0;
};

// Reads "<label><decimal>\n" at `text`'s start into `value` and drops it.
template <typename T>
bool take_line(std::string_view& text, std::string_view label, T& value) {
  if (!text.starts_with(label)) return false;
  text.remove_prefix(label.size());
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end == text.data() || end == text.data() + text.size() || *end != '\n')
    return false;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()) + 1);
  return true;
}

std::optional<std::int64_t> take_version(std::string_view& text) {
  std::int64_t version = 0;
  if (!take_line(text, "format ", version)) return std::nullopt;
  return version;
}

std::optional<Fields> parse_fields(std::string_view block) {
  std::string_view text = block.substr(kCoveredFrom);
  Fields fields;
  const std::optional<std::int64_t> version = take_version(text);
  if (!version || !take_line(text, "bytes ", fields.size)) return std::nullopt;
  if (std::any_of(text.begin(), text.end(), [](char c) { return c != '\0'; })) return std::nullopt;
  fields.version = *version;
  return fields;
}

// HDF5 looks for its signature at 0, 512, 1024, 2048, …: whether it would
// find a superblock in `file`.
bool has_hdf5_signature(std::string_view file) {
  for (std::size_t at = 0; at + kHdf5Signature.size() <= file.size(); at = at == 0 ? 512 : at * 2) {
    if (file.substr(at).starts_with(kHdf5Signature)) return true;
  }
  return false;
}

Error not_a_store(const std::string& path, const std::string& message) {
  return Error(message, Where{.file = path},
               "point cir at a results/<sweep>.h5 written by cir-sweep, or move this file away",
               ExitCode::store_refused);
}

}  // namespace

Error corrupt_store(const std::string& path, const std::string& what) {
  return Error(
      "the store is truncated or corrupt: " + what, Where{.file = path},
      "restore it from a backup or move it away (a rerun of its sweep then starts afresh); cir never "
      "writes a store in place, so something else damaged this file",
      ExitCode::store_refused);
}

void seal_snapshot(const std::filesystem::path& path, std::int64_t version) {
  UniqueFd fd = open_file(path, O_RDWR);
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) throw_sys_error(errno, path, "read the snapshot's size");
  const auto size = static_cast<std::uintmax_t>(status.st_size);
  std::string block = block_text(std::string(kDigestSize, '0'), version, size);
  Sha256 digest;
  digest.update(std::string_view(block).substr(kCoveredFrom));
  std::vector<char> buffer(std::size_t{1} << 20);
  for (std::uintmax_t at = kUserBlockSize; at < size;) {
    const ssize_t n = ::pread(fd.get(), buffer.data(), std::min<std::uintmax_t>(buffer.size(), size - at),
                              static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys_error(errno, path, "read the snapshot back for its checksum");
    if (n == 0) throw_sys_error(EIO, path, "read the snapshot back for its checksum (it shrank)");
    digest.update({buffer.data(), static_cast<std::size_t>(n)});
    at += static_cast<std::uintmax_t>(n);
  }
  block.replace(kDigestAt, kDigestSize, digest.hex());
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) throw_sys_error(errno, path, "write the snapshot's checksum");
  write_all(fd, block);
  fd.close();
}

std::optional<std::int64_t> check_snapshot(const std::vector<char>& bytes, const std::string& path) {
  const std::string_view file(bytes.data(), bytes.size());
  if (!file.starts_with(kMagic)) {
    if (file.starts_with(kHdf5Signature)) return std::nullopt;
    if (file.empty()) throw not_a_store(path, "the file is empty, not a cir results store");
    if (has_hdf5_signature(file)) {
      throw corrupt_store(path,
                          "an HDF5 file that does not begin with the checksum block of a cir store (a store "
                          "whose first bytes were damaged, or not a cir results store)");
    }
    throw not_a_store(path, "not an HDF5 file, so not a cir results store");
  }
  if (file.size() < kUserBlockSize) {
    throw corrupt_store(path, "it holds " + std::to_string(file.size()) + " bytes, fewer than its " +
                                  std::to_string(kUserBlockSize) + "-byte checksum block");
  }
  const std::string_view block = file.substr(0, kUserBlockSize);
  if (!block.substr(kMagic.size()).starts_with(kDigestLabel) || block[kCoveredFrom - 1] != '\n') {
    throw corrupt_store(path, "its checksum block (the first 512 bytes) is damaged");
  }
  if (sha256_hex(file.substr(kCoveredFrom)) != block.substr(kDigestAt, kDigestSize)) {
    std::string what = "the SHA-256 of its bytes is not the one cir wrote into its checksum block";
    const std::optional<Fields> fields = parse_fields(block);
    if (fields && fields->size != file.size()) {
      what += " (it holds " + std::to_string(file.size()) + " bytes, cir wrote " +
              std::to_string(fields->size) + ": it was cut short or added to)";
    }
    throw corrupt_store(path, what);
  }
  std::string_view rest = block.substr(kCoveredFrom);
  const std::optional<std::int64_t> version = take_version(rest);
  if (version && *version > kFormatVersion) {
    throw Error("the store has format version " + std::to_string(*version) + ", newer than the version " +
                    std::to_string(kFormatVersion) + " this cir reads",
                Where{.file = path}, "use the cir that wrote it (or a newer one)", ExitCode::store_refused);
  }
  const std::optional<Fields> fields = parse_fields(block);
  if (!fields || fields->version < kFirstSealedVersion || fields->size != file.size()) {
    throw corrupt_store(path, "its checksum block (the first 512 bytes) is damaged");
  }
  return fields->version;
}

}  // namespace cir::store
