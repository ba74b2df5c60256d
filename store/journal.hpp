// <store>.journal: the commits made since the store's last full snapshot,
// appended one frame per commit, so that a commit writes what changed (its
// new /epochs and /recalls rows and the trial rows it touched) instead of
// the whole store (docs/store-format.md "Commits"). Internal to store/.
//
// The journal names the snapshot it extends: both carry the same
// generation (the snapshot in its root attribute `journal_generation`). A
// full snapshot takes the next generation and then replaces the journal by
// an empty one of that generation, so a journal of an older generation is
// already inside the snapshot, and one of a newer generation means the
// snapshot was replaced after it was read (read it again). A frame is
// length-prefixed and checksummed; a frame cut short by a kill, and
// whatever follows it, is not part of the store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/snapshot.hpp"

namespace cir::store {

std::string journal_path(const std::string& store_path);

// The header of an empty journal for `generation`.
std::string journal_header(std::int64_t generation);

// One commit: the header's new `updated` time, the trial rows that changed
// (whole), and the rows appended to /epochs and /recalls.
std::string journal_frame(double updated, const std::vector<const TrialRow*>& trials,
                          const std::vector<EpochRow>& epochs, std::size_t first_epoch,
                          const std::vector<RecallRow>& recalls, std::size_t first_recall);

enum class JournalFit {
  none,     // no journal, an empty file, or a journal the snapshot already holds: nothing to add
  applied,  // the journal extends this snapshot: its complete frames were applied
  newer,    // the journal extends a later snapshot: read the store again
};

// Applies to `snapshot` the complete frames of journal `bytes` (read from
// `path`) if they extend it; counts them in snapshot.journal_frames. Throws
// cir::Error (ExitCode::store_refused) for a journal of another format or
// row layout, or a frame that names an unknown trial.
JournalFit apply_journal(const std::vector<char>& bytes, const std::string& path, Snapshot& snapshot);

}  // namespace cir::store
