// libFuzzer target for the store reader (store/reader.cpp on
// store/snapshot.cpp and store/journal.cpp) where cir parses the bytes
// itself: the journal. A small store is written once (two trials, epochs
// with recalls); an input is its journal. The input's first byte says what
// the target fixes before the rest is the journal: bit 0 gives every frame
// its right checksum, bit 1 the snapshot's generation, so that mutations
// reach what a frame holds instead of stopping at its checksum or making the
// reader ignore the journal. Any bytes must open as a store whose every
// trial's epochs, best epoch under each rule and resume view can be read,
// or give a cir::Error: never another exception or a crash. The snapshot
// itself is not mutated: libhdf5 1.10 reads corrupt files out of bounds
// (docs/hostile-inputs.md "Fuzzing").
#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "store/store.hpp"

namespace {

namespace fs = std::filesystem;

// store/journal.cpp: magic (12 bytes), version (4), generation (8), two row sizes (4 + 4).
constexpr std::size_t kGenerationAt = 16;
constexpr std::size_t kJournalHeader = 32;

// The store of this process, in memory-backed /dev/shm where there is one,
// with the generation of its snapshot; removed when the process ends.
struct Scratch {
  fs::path store;
  std::string generation;
  Scratch() {
    const char* tmp = std::getenv("TMPDIR");
    const fs::path dir =
        fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::path(tmp != nullptr ? tmp : "/tmp");
    store = dir / ("cir_store_fuzz." + std::to_string(::getpid()) + ".h5");
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
    std::ifstream in(store.string() + ".journal", std::ios::binary);
    const std::string journal(std::istreambuf_iterator<char>(in), {});
    if (journal.size() < kJournalHeader) std::abort();
    generation = journal.substr(kGenerationAt, 8);
  }
  ~Scratch() {
    fs::remove(store);
    fs::remove(store.string() + ".journal");
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Scratch scratch;
  if (size == 0) return 0;
  std::string journal(reinterpret_cast<const char*>(data + 1), size - 1);
  if (journal.size() >= kJournalHeader) {
    if ((data[0] & 1) != 0) fix_checksums(journal);
    if ((data[0] & 2) != 0) journal.replace(kGenerationAt, 8, scratch.generation);
  }
  std::ofstream(scratch.store.string() + ".journal", std::ios::binary | std::ios::trunc) << journal;
  try {
    const auto reader = cir::store::Reader::open(scratch.store);
    for (const auto& trial : reader.trials()) {
      (void)reader.epochs(trial.spec.id);
      for (const char* rule : {"last", "avg", "r1", "r10", "r50"})
        (void)reader.select_epoch(trial.spec.id, rule);
    }
    (void)reader.resume_view();
  } catch (const cir::Error&) {
  }
  return 0;
}
