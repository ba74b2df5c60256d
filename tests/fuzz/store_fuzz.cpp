// libFuzzer target for the store reader (store/reader.cpp on
// store/snapshot.cpp, store/checksum.cpp and store/journal.cpp): the
// journal, which cir parses itself, and the snapshot file as a whole, whose
// checksum cir checks before libhdf5 parses it. A small store is written
// once (two trials, epochs with recalls). The input's first byte says what
// the rest is:
//  - bit 2 clear: the store's journal. Bit 0 gives every frame its right
//    checksum, bit 1 the snapshot's generation, so that mutations reach what
//    a frame holds instead of stopping at its checksum or making the reader
//    ignore the journal.
//  - bit 2 set: edits of the snapshot file, 6 bytes each: a position (4
//    bytes, little-endian, modulo the file's size), what to do (bit 0: the
//    position is taken modulo the 512-byte checksum block instead; bit 1:
//    cut the file there) and a byte to XOR into the file there. A snapshot
//    whose bytes the edits changed must be refused; one they left as it was
//    must open. Edits that make the file begin with HDF5's signature are
//    skipped: that is a store of format 1 or 2, which libhdf5 reads
//    unverified, and which it may read out of bounds when it is damaged
//    (docs/hostile-inputs.md).
// Any bytes must open as a store whose every trial's epochs, best epoch
// under each rule and resume view can be read, or give a cir::Error: never
// another exception or a crash.
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "store/checksum.hpp"
#include "store/store.hpp"

namespace {

namespace fs = std::filesystem;

// store/journal.cpp: magic (12 bytes), version (4), generation (8), two row sizes (4 + 4).
constexpr std::size_t kGenerationAt = 16;
constexpr std::size_t kJournalHeader = 32;
using cir::store::kUserBlockSize;
constexpr std::string_view kHdf5Signature = "\211HDF\r\n\032\n";

std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The store of this process, in memory-backed /dev/shm where there is one,
// with its snapshot's bytes and generation, and the path where edited
// snapshots go (without a journal); removed when the process ends.
struct Scratch {
  fs::path store, edited;
  std::string snapshot, generation;
  Scratch() {
    const char* tmp = std::getenv("TMPDIR");
    const fs::path dir =
        fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::path(tmp != nullptr ? tmp : "/tmp");
    const std::string name = "cir_store_fuzz." + std::to_string(::getpid());
    store = dir / (name + ".h5");
    edited = dir / (name + ".edited.h5");
    fs::remove(store);
    cir::store::SweepHeader header;
    header.sweep = "demo";
    header.spec_text = "[sweep]\nname = \"demo\"\n";
    header.spec_digest = cir::sha256_hex(header.spec_text);
    std::vector<cir::TrialSpec> trials(2);
    for (int i = 0; i < 2; ++i) {
      trials[i].index = i;
      trials[i].seed = i;
      trials[i].params_json = "{\"loss.gamma0\":" + std::to_string(i + 1) + "}";
      trials[i].id = cir::short_digest(trials[i].params_json);
      trials[i].swept_keys = {"loss.gamma0"};
    }
    {
      auto writer = cir::store::Writer::open(store, header);
      writer.add_trials(trials);
      cir::EpochRecord record;
      record.trial_id = trials[0].id;
      record.recalls = {{"dress", 10, 20.0}, {"dress", 50, 40.0}};
      writer.append_epoch(record);
    }
    snapshot = bytes_of(store);
    const std::string journal = bytes_of(store.string() + ".journal");
    if (journal.size() < kJournalHeader || snapshot.size() <= kUserBlockSize) std::abort();
    generation = journal.substr(kGenerationAt, 8);
  }
  ~Scratch() {
    fs::remove(store);
    fs::remove(store.string() + ".journal");
    fs::remove(edited);
  }
};

// Gives each whole frame of `journal` the CRC-32 of its payload.
void fix_checksums(std::string& journal) {
  std::size_t at = kJournalHeader;
  while (journal.size() - at >= 12) {
    std::uint64_t size = 0;
    std::memcpy(&size, journal.data() + at, 8);
    if (size > journal.size() - at - 12) break;
    const auto sum = static_cast<std::uint32_t>(
        crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(journal.data() + at + 12),
              static_cast<uInt>(size)));
    std::memcpy(journal.data() + at + 8, &sum, 4);
    at += 12 + size;
  }
}

// The snapshot after the edits that `edits` (6 bytes each) describe.
std::string edited_snapshot(const std::string& snapshot, const std::uint8_t* edits, std::size_t size) {
  std::string file = snapshot;
  for (std::size_t at = 0; at + 6 <= size && !file.empty(); at += 6) {
    std::uint32_t position = 0;
    std::memcpy(&position, edits + at, 4);
    const std::uint8_t how = edits[at + 4];
    const std::size_t where =
        position % ((how & 1) != 0 ? std::min(file.size(), kUserBlockSize) : file.size());
    if ((how & 2) != 0) {
      file.resize(where);
    } else {
      file[where] = static_cast<char>(file[where] ^ static_cast<char>(edits[at + 5]));
    }
  }
  return file;
}

// Opens the store at `path` and reads all of it; false when it is refused.
bool read_all(const fs::path& path) {
  try {
    const auto reader = cir::store::Reader::open(path);
    for (const auto& trial : reader.trials()) {
      (void)reader.epochs(trial.spec.id);
      for (const char* rule : {"last", "avg", "r1", "r10", "r50"})
        (void)reader.select_epoch(trial.spec.id, rule);
    }
    (void)reader.resume_view();
    return true;
  } catch (const cir::Error&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Scratch scratch;
  if (size == 0) return 0;
  if ((data[0] & 4) != 0) {
    const std::string file = edited_snapshot(scratch.snapshot, data + 1, size - 1);
    if (std::string_view(file).starts_with(kHdf5Signature)) return 0;
    std::ofstream(scratch.edited, std::ios::binary | std::ios::trunc) << file;
    if (read_all(scratch.edited) != (file == scratch.snapshot)) {
      std::fprintf(stderr, "store_fuzz: a snapshot %s\n",
                   file == scratch.snapshot ? "cir wrote was refused" : "with changed bytes was read");
      std::abort();
    }
    return 0;
  }
  std::string journal(reinterpret_cast<const char*>(data + 1), size - 1);
  if (journal.size() >= kJournalHeader) {
    if ((data[0] & 1) != 0) fix_checksums(journal);
    if ((data[0] & 2) != 0) journal.replace(kGenerationAt, 8, scratch.generation);
  }
  std::ofstream(scratch.store.string() + ".journal", std::ios::binary | std::ios::trunc) << journal;
  read_all(scratch.store);
  return 0;
}
