// One complete state of a store and its HDF5 layout (results/README.md):
// what Writer keeps in memory and writes as a whole on every commit, and
// what Reader loads. Internal to store/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace cir::store {

inline constexpr char kFormatName[] = "cir-results";
// Widths of the fixed-length strings in /epochs and /recalls.
inline constexpr std::size_t kIdWidth = 16;     // a trial id (16 hex digits)
inline constexpr std::size_t kSplitWidth = 16;  // an evaluation split's name

// The rows of /epochs and /recalls, byte for byte as they lie in the file
// (packed compound types), so a commit copies them without conversion.
#pragma pack(push, 1)
struct EpochRow {
  char trial[kIdWidth];
  std::int32_t epoch;
  double loss_total, loss_info, loss_u, gamma, aug_std, lr;
  double train_seconds, eval_seconds, samples_per_second;
};
struct RecallRow {
  char trial[kIdWidth];
  std::int32_t epoch;
  char split[kSplitWidth];
  std::int32_t k;
  double value;
};
#pragma pack(pop)

// A fixed-width field as a std::string (up to the first NUL).
std::string fixed_field(const char* field, std::size_t width);
// Copies `value` into a fixed-width field, NUL-padded; the caller checked
// that it fits.
void set_fixed_field(char* field, std::size_t width, const std::string& value);

EpochRow epoch_row(const EpochRecord& record);
std::vector<RecallRow> recall_rows(const EpochRecord& record);
// The record of an /epochs row, without its recalls.
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

// Writes the complete HDF5 file of `snapshot` to `path` (which the caller
// then fsyncs and renames); fills the chunk caches.
void write_snapshot(Snapshot& snapshot, const std::string& path);

// Parses a store's bytes. Throws cir::Error (ExitCode::store_refused) naming
// `path` for a file that is not HDF5, not a cir store, of a newer format
// version, or corrupt. `with_chunks` also fills the tables' chunk caches
// from the file (for a writer).
Snapshot read_image(std::vector<char>& bytes, const std::string& path, bool with_chunks = false);

// Reads the file at `path` in one go (one open, so one snapshot even while a
// writer renames a new one over it) and parses it.
Snapshot read_store(const std::string& path, bool with_chunks = false);

}  // namespace cir::store
