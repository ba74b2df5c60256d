// One complete state of a store and its HDF5 layout (results/README.md):
// what Writer keeps in memory and writes as a whole on every commit, and
// what Reader loads. Internal to store/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "store/store.hpp"

namespace cir::store {

inline constexpr char kFormatName[] = "cir-results";
// Widths of the fixed-length strings in /epochs and /recalls.
inline constexpr std::size_t kIdWidth = 16;     // a trial id (16 hex digits)
inline constexpr std::size_t kSplitWidth = 16;  // an evaluation split's name

// How a member of EpochRecord lies in an /epochs row: its width in bytes;
// 0 for the recalls, which /recalls holds. Strings are fixed-width,
// NUL-padded.
template <typename T>
constexpr std::size_t column_width() {
  if constexpr (std::is_same_v<T, std::string>) {
    return kIdWidth;
  } else if constexpr (std::is_same_v<T, std::vector<RecallValue>>) {
    return 0;
  } else {
    static_assert(
        std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>,
        "an /epochs column is a string, an int32, an int64 or a double");
    return sizeof(T);
  }
}

// Calls f(field, offset) for each column of /epochs: the entries of
// EpochRecord's field table (common/trial.hpp) that have a width, in table
// order, packed.
template <typename F>
constexpr void for_each_epoch_column(F&& f) {
  std::size_t offset = 0;
  for_each_field<EpochRecord>([&](const auto& field) {
    constexpr std::size_t width = column_width<typename std::decay_t<decltype(field)>::Type>();
    if constexpr (width > 0) f(field, offset);
    offset += width;
  });
}

constexpr std::size_t epoch_row_size() {
  std::size_t size = 0;
  for_each_epoch_column([&](const auto& field, std::size_t offset) {
    size = offset + column_width<typename std::decay_t<decltype(field)>::Type>();
  });
  return size;
}

// Where an /epochs row holds its attempt (TrialRow::retries when it was
// written): after the record's columns, last, so that a row of format
// version 1, which has none, is a prefix of a row of this version.
inline constexpr std::size_t kEpochAttemptOffset = epoch_row_size();

// The rows of /epochs and /recalls, byte for byte as they lie in the file
// (packed compound types), so a commit copies them without conversion.
// A /recalls row holds the members of RecallValue (common/trial.hpp) laid
// out by hand: columns are only ever added at its end, so that a row an
// older cir wrote is a prefix of this one and its new columns read as 0.
struct EpochRow {
  char bytes[kEpochAttemptOffset + sizeof(std::int32_t)];
};
#pragma pack(push, 1)
struct RecallRow {
  char trial[kIdWidth];
  std::int32_t epoch;
  char split[kSplitWidth];
  std::int32_t k;
  double value;
  std::int32_t attempt;  // like the attempt of an /epochs row
  // Added after the attempt: a row written before them (52 bytes) lacks them.
  std::int64_t queries, queries_total, gallery, gallery_total;
};
#pragma pack(pop)

// The key of a row of either table: its trial id (kIdWidth bytes, not
// NUL-terminated), its attempt and its epoch.
const char* row_trial(const EpochRow& row);
std::int32_t row_attempt(const EpochRow& row);
std::int32_t row_epoch(const EpochRow& row);
inline const char* row_trial(const RecallRow& row) { return row.trial; }
inline std::int32_t row_attempt(const RecallRow& row) { return row.attempt; }
inline std::int32_t row_epoch(const RecallRow& row) { return row.epoch; }

// A fixed-width field as a std::string (up to the first NUL).
std::string fixed_field(const char* field, std::size_t width);
// Copies `value` into a fixed-width field, NUL-padded; the caller checked
// that it fits.
void set_fixed_field(char* field, std::size_t width, const std::string& value);

// The rows of one epoch of attempt `attempt` of a trial.
EpochRow epoch_row(const EpochRecord& record, std::int32_t attempt);
std::vector<RecallRow> recall_rows(const EpochRecord& record, std::int32_t attempt);
// The record of an /epochs row, without its recalls (and its attempt).
EpochRecord epoch_record(const EpochRow& row);
RecallValue recall_value(const RecallRow& row);

// The rows of an append-mostly table and the compressed bytes of its full
// chunks, which never change once written: a commit compresses only the
// chunks that changed since the last one (the last, partial chunk and what a
// truncation rewrote), so its cost does not grow with the store.
template <typename Row>
struct Table {
  std::vector<Row> rows;
  std::vector<std::string> compressed;  // full chunks 0 … compressed.size()-1
  // Forget the cached chunks from the one holding `row` on.
  void invalidate_from(std::size_t row, std::size_t chunk_rows) {
    if (compressed.size() > row / chunk_rows) compressed.resize(row / chunk_rows);
  }
};

// One dataset under /params: a swept key's value for every trial.
struct ParamColumn {
  enum class Kind { boolean, integer, number, text } kind = Kind::text;
  std::string key;
  std::vector<std::int8_t> booleans;
  std::vector<std::int64_t> integers;
  std::vector<double> numbers;
  std::vector<std::string> texts;
};

// The /params columns of `trials` (parsing every trial's params_json).
std::vector<ParamColumn> param_columns(const std::vector<TrialRow>& trials);

struct Snapshot {
  std::int64_t version = kFormatVersion;
  // Which journal extends this snapshot (store/journal.hpp); the root
  // attribute journal_generation.
  std::int64_t generation = 0;
  // How many journal frames read_store() applied on top of the file.
  std::size_t journal_frames = 0;
  SweepHeader header;
  std::vector<TrialRow> trials;
  // param_columns(trials), kept between commits; whoever changes the trials'
  // specs resets it.
  std::optional<std::vector<ParamColumn>> params;
  Table<EpochRow> epochs;    // in commit order
  Table<RecallRow> recalls;  // in commit order
};

inline constexpr std::size_t kEpochChunkRows = 1024;
inline constexpr std::size_t kRecallChunkRows = 2048;

// Writes the complete HDF5 file of `snapshot` to `path`, with its checksum
// block (store/checksum.hpp), which the caller then fsyncs and renames;
// fills the chunk caches.
void write_snapshot(Snapshot& snapshot, const std::string& path);

// Parses a store's bytes, once their checksum matches (check_snapshot in
// store/checksum.hpp). Throws cir::Error (ExitCode::store_refused) naming
// `path` for a file that is not HDF5, not a cir store, of a newer format
// version, or truncated or corrupt. `with_chunks` also fills the tables'
// chunk caches from the file (for a writer).
Snapshot read_image(std::vector<char>& bytes, const std::string& path, bool with_chunks = false);

// Reads the file at `path` in one go (one open, so one snapshot even while a
// writer renames a new one over it), parses it and applies the frames of
// <path>.journal that extend it; reads both again when the journal belongs
// to a snapshot written after the file was read.
Snapshot read_store(const std::string& path, bool with_chunks = false);

}  // namespace cir::store
