#include "store/journal.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/error.hpp"

namespace cir::store {

namespace {

// Header: magic, format version, generation, the two row sizes (a journal
// written by a cir with another row layout is refused, not misread).
constexpr char kMagic[12] = {'c', 'i', 'r', '-', 'j', 'o', 'u', 'r', 'n', 'a', 'l', '\n'};
constexpr std::uint32_t kJournalVersion = 2;
// Version 1 (store format 1) has rows of these sizes, without an attempt:
// each is a prefix of a row of this version, whose other bytes (the
// attempt, and the columns added since) read as 0.
constexpr std::uint32_t kV1EpochRowSize = 92, kV1RecallRowSize = 48;
static_assert(kV1EpochRowSize < sizeof(EpochRow) && kV1RecallRowSize < sizeof(RecallRow));
// Version 2 before /recalls had the query and gallery counts: recall rows
// end at the attempt, the counts read as 0 (unknown).
constexpr std::uint32_t kV2CountlessRecallRowSize = offsetof(RecallRow, queries);
static_assert(kV2CountlessRecallRowSize == 52);
constexpr std::size_t kHeaderSize = sizeof kMagic + 4 + 8 + 4 + 4;
// Frame: payload size (8 bytes), CRC-32 of the payload (4), payload.
constexpr std::size_t kFrameHead = 8 + 4;

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

// Reads from a byte range, failing (returning false) instead of overrunning.
struct Cursor {
  const char* at;
  const char* end;
  template <typename T>
  bool get(T& value) {
    if (static_cast<std::size_t>(end - at) < sizeof value) return false;
    std::memcpy(&value, at, sizeof value);
    at += sizeof value;
    return true;
  }
  bool take(std::size_t n, const char*& begin) {
    if (static_cast<std::size_t>(end - at) < n) return false;
    begin = at;
    at += n;
    return true;
  }
};

std::uint32_t crc(const char* data, std::size_t size) {
  uLong value = crc32(0L, Z_NULL, 0);
  while (size > 0) {
    const auto piece = static_cast<uInt>(std::min<std::size_t>(size, 1u << 30));
    value = crc32(value, reinterpret_cast<const Bytef*>(data), piece);
    data += piece;
    size -= piece;
  }
  return static_cast<std::uint32_t>(value);
}

nlohmann::json trial_json(const TrialRow& row) {
  return {{"id", row.spec.id},
          {"index", row.spec.index},
          {"seed", row.spec.seed},
          {"params_json", row.spec.params_json},
          {"swept_keys", row.spec.swept_keys},
          {"expected_cost", row.spec.expected_cost},
          {"status", static_cast<int>(row.status)},
          {"attempts", row.attempts},
          {"retries", row.retries},
          {"epochs_done", row.epochs_done},
          {"started", row.started},
          {"finished", row.finished},
          {"error", row.error},
          {"notes_json", row.notes_json}};
}

TrialRow trial_row(const nlohmann::json& j) {
  TrialRow row;
  row.spec.id = j.at("id").get<std::string>();
  row.spec.index = j.at("index").get<std::int64_t>();
  row.spec.seed = j.at("seed").get<std::int64_t>();
  row.spec.params_json = j.at("params_json").get<std::string>();
  row.spec.swept_keys = j.at("swept_keys").get<std::vector<std::string>>();
  row.spec.expected_cost = j.at("expected_cost").get<double>();
  const int status = j.at("status").get<int>();
  if (status < 0 || status > static_cast<int>(TrialStatus::diverged)) throw std::out_of_range("status");
  row.status = static_cast<TrialStatus>(status);
  row.attempts = j.at("attempts").get<std::int32_t>();
  row.retries = j.value("retries", std::int32_t{0});  // none in a version 1 journal
  row.epochs_done = j.at("epochs_done").get<std::int32_t>();
  row.started = j.at("started").get<double>();
  row.finished = j.at("finished").get<double>();
  row.error = j.at("error").get<std::string>();
  row.notes_json = j.at("notes_json").get<std::string>();
  return row;
}

// Appends rows of `row_size` bytes each: sizeof(Row), or a shorter row of
// an older layout, whose missing last bytes stay 0.
template <typename Row>
bool take_rows(Cursor& cursor, std::vector<Row>& rows, std::size_t row_size) {
  std::uint64_t n = 0;
  const char* begin = nullptr;
  if (!cursor.get(n) || n > static_cast<std::uint64_t>(cursor.end - cursor.at) / row_size ||
      !cursor.take(n * row_size, begin)) {
    return false;
  }
  const std::size_t old = rows.size();
  rows.resize(old + n, Row{});
  for (std::size_t i = 0; i < n; ++i)
    std::memcpy(static_cast<void*>(rows.data() + old + i), begin + i * row_size, row_size);
  return true;
}

Error refused(const std::string& path, const std::string& message) {
  return Error(
      message, Where{.file = path},
      "the journal is damaged or from another cir; move it away to fall back on the store's last full "
      "snapshot (the commits it holds are then lost)",
      ExitCode::store_refused);
}

}  // namespace

std::string journal_path(const std::string& store_path) { return store_path + ".journal"; }

std::string journal_header(std::int64_t generation) {
  std::string out(kMagic, sizeof kMagic);
  put(out, kJournalVersion);
  put(out, generation);
  put(out, static_cast<std::uint32_t>(sizeof(EpochRow)));
  put(out, static_cast<std::uint32_t>(sizeof(RecallRow)));
  return out;
}

std::string journal_frame(double updated, const std::vector<const TrialRow*>& trials,
                          const std::vector<EpochRow>& epochs, std::size_t first_epoch,
                          const std::vector<RecallRow>& recalls, std::size_t first_recall) {
  std::string payload;
  put(payload, updated);
  put(payload, static_cast<std::uint32_t>(trials.size()));
  for (const TrialRow* row : trials) {
    const std::string text = trial_json(*row).dump();
    put(payload, static_cast<std::uint32_t>(text.size()));
    payload += text;
  }
  put(payload, static_cast<std::uint64_t>(epochs.size() - first_epoch));
  payload.append(reinterpret_cast<const char*>(epochs.data() + first_epoch),
                 (epochs.size() - first_epoch) * sizeof(EpochRow));
  put(payload, static_cast<std::uint64_t>(recalls.size() - first_recall));
  payload.append(reinterpret_cast<const char*>(recalls.data() + first_recall),
                 (recalls.size() - first_recall) * sizeof(RecallRow));
  std::string frame;
  frame.reserve(kFrameHead + payload.size());
  put(frame, static_cast<std::uint64_t>(payload.size()));
  put(frame, crc(payload.data(), payload.size()));
  return frame + payload;
}

JournalFit apply_journal(const std::vector<char>& bytes, const std::string& path, Snapshot& snapshot) {
  // A journal is published complete with its header (a durable replace),
  // so a shorter file is one being created: it holds nothing yet.
  if (bytes.size() < kHeaderSize) return JournalFit::none;
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) throw refused(path, "not a cir store journal");
  Cursor cursor{bytes.data() + sizeof kMagic, bytes.data() + bytes.size()};
  std::uint32_t version = 0, epoch_size = 0, recall_size = 0;
  std::int64_t generation = 0;
  cursor.get(version);
  cursor.get(generation);
  cursor.get(epoch_size);
  cursor.get(recall_size);
  const bool v1 = version == 1 && epoch_size == kV1EpochRowSize && recall_size == kV1RecallRowSize;
  const bool v2 = version == kJournalVersion && epoch_size == sizeof(EpochRow) &&
                  (recall_size == sizeof(RecallRow) || recall_size == kV2CountlessRecallRowSize);
  if (!v1 && !v2) {
    throw refused(path, "the journal was written by a cir with another row layout (journal version " +
                            std::to_string(version) + ")");
  }
  if (generation < snapshot.generation) return JournalFit::none;
  if (generation > snapshot.generation) return JournalFit::newer;
  std::unordered_map<std::string, std::size_t> by_id;
  for (std::size_t i = 0; i < snapshot.trials.size(); ++i) by_id[snapshot.trials[i].spec.id] = i;
  for (;;) {
    std::uint64_t size = 0;
    std::uint32_t sum = 0;
    const char* payload = nullptr;
    if (!cursor.get(size) || !cursor.get(sum) || size > static_cast<std::uint64_t>(cursor.end - cursor.at) ||
        !cursor.take(size, payload) || crc(payload, size) != sum) {
      break;  // the end, or a frame cut short: what follows is not committed
    }
    Cursor frame{payload, payload + size};
    double updated = 0.0;
    std::uint32_t n_trials = 0;
    bool whole = frame.get(updated) && frame.get(n_trials);
    std::vector<TrialRow> trials;
    for (std::uint32_t i = 0; whole && i < n_trials; ++i) {
      std::uint32_t length = 0;
      const char* text = nullptr;
      whole = frame.get(length) && frame.take(length, text);
      if (!whole) break;
      try {
        trials.push_back(trial_row(nlohmann::json::parse(text, text + length)));
      } catch (const std::exception& error) {
        throw refused(path, std::string("a journal frame holds an unreadable trial row: ") + error.what());
      }
    }
    if (!whole) throw refused(path, "a journal frame with a valid checksum is malformed");
    for (TrialRow& row : trials) {
      const auto it = by_id.find(row.spec.id);
      if (it == by_id.end()) {
        throw refused(path, "a journal frame names trial " + row.spec.id + ", which the store does not hold");
      }
      snapshot.trials[it->second] = std::move(row);
    }
    if (!take_rows(frame, snapshot.epochs.rows, epoch_size) ||
        !take_rows(frame, snapshot.recalls.rows, recall_size)) {
      throw refused(path, "a journal frame with a valid checksum is malformed");
    }
    snapshot.header.updated = updated;
    ++snapshot.journal_frames;
  }
  return JournalFit::applied;
}

}  // namespace cir::store
