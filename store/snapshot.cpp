#include "store/snapshot.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.hpp"
#include "store/checksum.hpp"
#include "store/hdf5.hpp"
#include "store/journal.hpp"

namespace cir::store {

namespace {

constexpr std::size_t kStatusWidth = 8;  // "diverged"
constexpr int kDeflateLevel = 1;

// /trials in memory: fixed strings inline, variable-length strings as
// pointers HDF5 reads from (write) or allocates (read).
struct TrialMemory {
  char id[kIdWidth];
  std::int64_t index;
  char status[kStatusWidth];
  std::int64_t seed;
  std::int32_t attempts;
  std::int32_t retries;
  std::int32_t epochs_done;
  double started;
  double finished;
  double expected_cost;
  char* error;
  char* params_json;
  char* swept_keys;
  char* notes_json;
};

void insert(hid_t compound, const char* name, std::size_t offset, hid_t type) {
  h5::check(H5Tinsert(compound, name, offset, type), name);
}

h5::Handle trial_type() {
  h5::Handle type = h5::datatype_handle(H5Tcreate(H5T_COMPOUND, sizeof(TrialMemory)), "/trials type");
  h5::Handle id = h5::fixed_string_type(kIdWidth);
  h5::Handle status = h5::fixed_string_type(kStatusWidth);
  h5::Handle text = h5::vlen_string_type();
  insert(type, "id", HOFFSET(TrialMemory, id), id);
  insert(type, "index", HOFFSET(TrialMemory, index), H5T_NATIVE_INT64);
  insert(type, "status", HOFFSET(TrialMemory, status), status);
  insert(type, "seed", HOFFSET(TrialMemory, seed), H5T_NATIVE_INT64);
  insert(type, "attempts", HOFFSET(TrialMemory, attempts), H5T_NATIVE_INT32);
  insert(type, "retries", HOFFSET(TrialMemory, retries), H5T_NATIVE_INT32);
  insert(type, "epochs_done", HOFFSET(TrialMemory, epochs_done), H5T_NATIVE_INT32);
  insert(type, "started", HOFFSET(TrialMemory, started), H5T_NATIVE_DOUBLE);
  insert(type, "finished", HOFFSET(TrialMemory, finished), H5T_NATIVE_DOUBLE);
  insert(type, "expected_cost", HOFFSET(TrialMemory, expected_cost), H5T_NATIVE_DOUBLE);
  insert(type, "error", HOFFSET(TrialMemory, error), text);
  insert(type, "params_json", HOFFSET(TrialMemory, params_json), text);
  insert(type, "swept_keys", HOFFSET(TrialMemory, swept_keys), text);
  insert(type, "notes_json", HOFFSET(TrialMemory, notes_json), text);
  return type;
}

// The HDF5 type of an /epochs column, in memory and in the file.
template <typename T>
h5::Handle column_type() {
  if constexpr (std::is_same_v<T, std::string>) {
    return h5::fixed_string_type(column_width<T>());
  } else if constexpr (std::is_same_v<T, std::int32_t>) {
    return h5::datatype_handle(H5Tcopy(H5T_NATIVE_INT32), "copying the int32 type");
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    return h5::datatype_handle(H5Tcopy(H5T_NATIVE_INT64), "copying the int64 type");
  } else {
    static_assert(std::is_same_v<T, double>);
    return h5::datatype_handle(H5Tcopy(H5T_NATIVE_DOUBLE), "copying the double type");
  }
}

h5::Handle epoch_type() {
  h5::Handle type = h5::datatype_handle(H5Tcreate(H5T_COMPOUND, sizeof(EpochRow)), "/epochs type");
  for_each_epoch_column([&](const auto& field, std::size_t offset) {
    insert(type, field.name, offset, column_type<typename std::decay_t<decltype(field)>::Type>());
  });
  insert(type, "attempt", kEpochAttemptOffset, H5T_NATIVE_INT32);
  return type;
}

// The offset in an /epochs row of the column of `Member` (which must be one).
template <auto Member>
consteval std::size_t column_offset() {
  std::optional<std::size_t> found;
  for_each_epoch_column([&](const auto& field, std::size_t offset) {
    if constexpr (std::is_same_v<decltype(field.member), decltype(Member)>) {
      if (field.member == Member) found = offset;
    }
  });
  return found.value();
}

h5::Handle recall_type() {
  h5::Handle type = h5::datatype_handle(H5Tcreate(H5T_COMPOUND, sizeof(RecallRow)), "/recalls type");
  h5::Handle id = h5::fixed_string_type(kIdWidth);
  h5::Handle split = h5::fixed_string_type(kSplitWidth);
  insert(type, "trial", HOFFSET(RecallRow, trial), id);
  insert(type, "epoch", HOFFSET(RecallRow, epoch), H5T_NATIVE_INT32);
  insert(type, "split", HOFFSET(RecallRow, split), split);
  insert(type, "k", HOFFSET(RecallRow, k), H5T_NATIVE_INT32);
  insert(type, "value", HOFFSET(RecallRow, value), H5T_NATIVE_DOUBLE);
  insert(type, "attempt", HOFFSET(RecallRow, attempt), H5T_NATIVE_INT32);
  insert(type, "queries", HOFFSET(RecallRow, queries), H5T_NATIVE_INT64);
  insert(type, "queries_total", HOFFSET(RecallRow, queries_total), H5T_NATIVE_INT64);
  insert(type, "gallery", HOFFSET(RecallRow, gallery), H5T_NATIVE_INT64);
  insert(type, "gallery_total", HOFFSET(RecallRow, gallery_total), H5T_NATIVE_INT64);
  return type;
}

h5::Handle vector_space(std::size_t n, bool extensible) {
  const hsize_t dims[1] = {n};
  const hsize_t unlimited[1] = {H5S_UNLIMITED};
  return h5::dataspace_handle(H5Screate_simple(1, dims, extensible ? unlimited : nullptr),
                              "creating a dataspace");
}

// --- writing ----------------------------------------------------------------

void write_header(hid_t file, const Snapshot& snapshot) {
  const SweepHeader& header = snapshot.header;
  h5::write_attribute(file, "format", std::string(kFormatName));
  h5::write_attribute(file, "version", snapshot.version);
  h5::write_attribute(file, "sweep", header.sweep);
  h5::write_attribute(file, "spec_text", header.spec_text);
  h5::write_attribute(file, "spec_digest", header.spec_digest);
  h5::write_attribute(file, "cir_version", header.cir_version);
  h5::write_attribute(file, "created", header.created);
  h5::write_attribute(file, "updated", header.updated);
  h5::write_attribute(file, "requeues_timeout", header.requeues_timeout);
  h5::write_attribute(file, "requeues_preemption", header.requeues_preemption);
  h5::write_attribute(file, "runs_json", header.runs_json);
  h5::write_attribute(file, "journal_generation", snapshot.generation);
}

void write_trials(hid_t file, const std::vector<TrialRow>& trials) {
  std::vector<TrialMemory> rows(trials.size());
  std::vector<std::string> swept(trials.size());
  for (std::size_t i = 0; i < trials.size(); ++i) {
    const TrialRow& trial = trials[i];
    TrialMemory& row = rows[i];
    set_fixed_field(row.id, kIdWidth, trial.spec.id);
    row.index = trial.spec.index;
    set_fixed_field(row.status, kStatusWidth, to_string(trial.status));
    row.seed = trial.spec.seed;
    row.attempts = trial.attempts;
    row.retries = trial.retries;
    row.epochs_done = trial.epochs_done;
    row.started = trial.started;
    row.finished = trial.finished;
    row.expected_cost = trial.spec.expected_cost;
    swept[i] = nlohmann::json(trial.spec.swept_keys).dump();
    row.error = const_cast<char*>(trial.error.c_str());
    row.params_json = const_cast<char*>(trial.spec.params_json.c_str());
    row.swept_keys = const_cast<char*>(swept[i].c_str());
    row.notes_json = const_cast<char*>(trial.notes_json.c_str());
  }
  h5::Handle type = trial_type();
  h5::Handle file_type = h5::datatype_handle(H5Tcopy(type), "/trials file type");
  h5::check(H5Tpack(file_type), "packing the /trials type");
  h5::Handle space = vector_space(rows.size(), false);
  h5::Handle dataset =
      h5::dataset_handle(H5Dcreate2(file, "trials", file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                         "creating /trials");
  if (!rows.empty())
    h5::check(H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()), "writing /trials");
}

void write_params(hid_t file, const std::vector<ParamColumn>& columns) {
  h5::Handle group =
      h5::group_handle(H5Gcreate2(file, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating /params");
  for (const ParamColumn& column : columns) {
    const char* name = column.key.c_str();
    const auto write = [&](hid_t file_type, hid_t memory_type, std::size_t n, const void* data) {
      h5::Handle space = vector_space(n, false);
      h5::Handle dataset = h5::dataset_handle(
          H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name);
      if (n > 0) h5::check(H5Dwrite(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), name);
    };
    switch (column.kind) {
      case ParamColumn::Kind::boolean: {
        // numpy's bool, as h5py writes it: an enum of FALSE and TRUE.
        h5::Handle type = h5::datatype_handle(H5Tenum_create(H5T_NATIVE_INT8), "bool type");
        const std::int8_t no = 0, yes = 1;
        h5::check(H5Tenum_insert(type, "FALSE", &no), "bool type");
        h5::check(H5Tenum_insert(type, "TRUE", &yes), "bool type");
        write(type, type, column.booleans.size(), column.booleans.data());
        break;
      }
      case ParamColumn::Kind::integer:
        write(H5T_STD_I64LE, H5T_NATIVE_INT64, column.integers.size(), column.integers.data());
        break;
      case ParamColumn::Kind::number:
        write(H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, column.numbers.size(), column.numbers.data());
        break;
      case ParamColumn::Kind::text: {
        std::vector<const char*> pointers;
        for (const std::string& t : column.texts) pointers.push_back(t.c_str());
        h5::Handle type = h5::vlen_string_type();
        write(type, type, pointers.size(), pointers.data());
        break;
      }
    }
  }
}

// HDF5's shuffle filter: byte j of every element, then byte j+1, …
std::string shuffle(const char* raw, std::size_t elements, std::size_t element_size) {
  std::string out(elements * element_size, '\0');
  for (std::size_t j = 0; j < element_size; ++j) {
    char* dest = out.data() + j * elements;
    for (std::size_t i = 0; i < elements; ++i) dest[i] = raw[i * element_size + j];
  }
  return out;
}

// The bytes HDF5's [shuffle, deflate] pipeline would store for one chunk.
std::string compress_chunk(const char* raw, std::size_t chunk_rows, std::size_t row_size) {
  const std::string shuffled = shuffle(raw, chunk_rows, row_size);
  uLongf size = compressBound(shuffled.size());
  std::string out(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(shuffled.data()),
                shuffled.size(), kDeflateLevel) != Z_OK) {
    throw h5::Failure("zlib could not compress a chunk");
  }
  out.resize(size);
  return out;
}

// A chunked, shuffled and deflated table whose chunks go to the file
// directly (H5Dwrite_chunk), cached ones as they are.
template <typename Row>
void write_table(hid_t file, const char* name, hid_t type, Table<Row>& table, std::size_t chunk_rows) {
  h5::Handle dcpl = h5::plist_handle(H5Pcreate(H5P_DATASET_CREATE), name);
  const hsize_t chunk[1] = {chunk_rows};
  h5::check(H5Pset_chunk(dcpl, 1, chunk), name);
  h5::check(H5Pset_shuffle(dcpl), name);
  h5::check(H5Pset_deflate(dcpl, kDeflateLevel), name);
  h5::Handle space = vector_space(table.rows.size(), true);
  h5::Handle dataset =
      h5::dataset_handle(H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), name);
  const std::size_t n = table.rows.size();
  const std::size_t chunks = (n + chunk_rows - 1) / chunk_rows;
  std::vector<Row> partial;
  for (std::size_t c = 0; c < chunks; ++c) {
    const std::size_t first = c * chunk_rows;
    const bool full = first + chunk_rows <= n;
    std::string fresh;
    if (c >= table.compressed.size()) {
      const char* raw = reinterpret_cast<const char*>(table.rows.data() + first);
      if (!full) {
        partial.assign(chunk_rows, Row{});
        std::copy(table.rows.begin() + first, table.rows.end(), partial.begin());
        raw = reinterpret_cast<const char*>(partial.data());
      }
      fresh = compress_chunk(raw, chunk_rows, sizeof(Row));
      if (full) table.compressed.push_back(std::move(fresh));
    }
    const std::string& bytes = c < table.compressed.size() ? table.compressed[c] : fresh;
    const hsize_t offset[1] = {first};
    h5::check(H5Dwrite_chunk(dataset, H5P_DEFAULT, 0, offset, bytes.size(), bytes.data()), name);
  }
}

// --- reading ----------------------------------------------------------------

std::size_t dataset_rows(hid_t dataset, const char* name) {
  h5::Handle space = h5::dataspace_handle(H5Dget_space(dataset), name);
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank != 1) throw h5::Failure(std::string(name) + " is not one-dimensional");
  hsize_t dims[1] = {0};
  h5::check(H5Sget_simple_extent_dims(space, dims, nullptr), name);
  return dims[0];
}

std::vector<TrialRow> read_trials(hid_t file, const std::string& path) {
  h5::Handle dataset = h5::dataset_handle(H5Dopen2(file, "trials", H5P_DEFAULT), "opening /trials");
  const std::size_t n = dataset_rows(dataset, "/trials");
  std::vector<TrialMemory> rows(n);
  h5::Handle type = trial_type();
  std::vector<TrialRow> trials(n);
  if (n == 0) return trials;
  h5::check(H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()), "reading /trials");
  const auto text = [](const char* s) { return std::string(s != nullptr ? s : ""); };
  std::string problem;
  for (std::size_t i = 0; i < n; ++i) {
    const TrialMemory& row = rows[i];
    TrialRow& trial = trials[i];
    trial.spec.id = fixed_field(row.id, kIdWidth);
    trial.spec.index = row.index;
    trial.spec.seed = row.seed;
    trial.spec.params_json = text(row.params_json);
    trial.spec.expected_cost = row.expected_cost;
    const nlohmann::json swept = nlohmann::json::parse(text(row.swept_keys), nullptr, false);
    if (swept.is_array() && std::all_of(swept.begin(), swept.end(), [](auto& k) { return k.is_string(); })) {
      trial.spec.swept_keys = swept.get<std::vector<std::string>>();
    } else if (problem.empty()) {
      problem = "trial " + trial.spec.id + " has swept_keys that are not a JSON list of strings";
    }
    const std::string status = fixed_field(row.status, kStatusWidth);
    bool known = false;
    for (TrialStatus s : {TrialStatus::pending, TrialStatus::running, TrialStatus::done, TrialStatus::failed,
                          TrialStatus::diverged}) {
      if (status == to_string(s)) {
        trial.status = s;
        known = true;
      }
    }
    if (!known && problem.empty())
      problem = "trial " + trial.spec.id + " has unknown status '" + status + "'";
    trial.attempts = row.attempts;
    trial.retries = row.retries;
    trial.epochs_done = row.epochs_done;
    trial.started = row.started;
    trial.finished = row.finished;
    trial.error = text(row.error);
    trial.notes_json = text(row.notes_json);
  }
  h5::Handle space = h5::dataspace_handle(H5Dget_space(dataset), "/trials");
  H5Dvlen_reclaim(type, space, H5P_DEFAULT, rows.data());
  if (!problem.empty()) throw h5::Failure("/trials: " + problem + " (in " + path + ")");
  return trials;
}

// The compressed bytes of a table's full chunks as they lie in the file, when
// the file's layout is the one write_table() makes (so a writer that
// reopens a big store need not compress it all again); none otherwise.
std::vector<std::string> stored_chunks(hid_t dataset, hid_t type, std::size_t rows, std::size_t chunk_rows,
                                       const char* name) {
  h5::Handle file_type = h5::datatype_handle(H5Dget_type(dataset), name);
  h5::Handle dcpl = h5::plist_handle(H5Dget_create_plist(dataset), name);
  hsize_t chunk[1] = {0};
  const htri_t same_type = H5Tequal(file_type, type);
  if (same_type <= 0 || H5Pget_layout(dcpl) != H5D_CHUNKED || H5Pget_chunk(dcpl, 1, chunk) != 1 ||
      chunk[0] != chunk_rows || H5Pget_nfilters(dcpl) != 2 ||
      H5Pget_filter2(dcpl, 0, nullptr, nullptr, nullptr, 0, nullptr, nullptr) != H5Z_FILTER_SHUFFLE ||
      H5Pget_filter2(dcpl, 1, nullptr, nullptr, nullptr, 0, nullptr, nullptr) != H5Z_FILTER_DEFLATE) {
    H5Eclear2(H5E_DEFAULT);
    return {};
  }
  std::vector<std::string> chunks;
  for (std::size_t c = 0; c < rows / chunk_rows; ++c) {
    const hsize_t offset[1] = {c * chunk_rows};
    hsize_t size = 0;
    h5::check(H5Dget_chunk_storage_size(dataset, offset, &size), name);
    std::string bytes(size, '\0');
    std::uint32_t filters = 0;
    h5::check(H5Dread_chunk(dataset, H5P_DEFAULT, offset, &filters, bytes.data()), name);
    if (filters != 0) return {};  // a filter was skipped for this chunk: recompress them all
    chunks.push_back(std::move(bytes));
  }
  return chunks;
}

template <typename Row>
Table<Row> read_table(hid_t file, const char* name, hid_t type, std::size_t chunk_rows, bool with_chunks) {
  h5::Handle dataset = h5::dataset_handle(H5Dopen2(file, name, H5P_DEFAULT), name);
  Table<Row> table;
  table.rows.resize(dataset_rows(dataset, name));
  if (!table.rows.empty()) {
    h5::check(H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, table.rows.data()), name);
  }
  if (with_chunks) table.compressed = stored_chunks(dataset, type, table.rows.size(), chunk_rows, name);
  return table;
}

Error refused(const std::string& path, const std::string& message, const std::string& hint) {
  return Error(message, Where{.file = path}, hint, ExitCode::store_refused);
}

}  // namespace

std::string fixed_field(const char* field, std::size_t width) {
  const char* end = std::find(field, field + width, '\0');
  return std::string(field, end);
}

void set_fixed_field(char* field, std::size_t width, const std::string& value) {
  std::memset(field, 0, width);
  std::memcpy(field, value.data(), std::min(width, value.size()));
}

EpochRow epoch_row(const EpochRecord& record, std::int32_t attempt) {
  EpochRow row{};
  std::memcpy(row.bytes + kEpochAttemptOffset, &attempt, sizeof attempt);
  for_each_epoch_column([&](const auto& field, std::size_t offset) {
    const auto& value = record.*field.member;
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) {
      set_fixed_field(row.bytes + offset, column_width<std::string>(), value);
    } else {
      std::memcpy(row.bytes + offset, &value, sizeof value);
    }
  });
  return row;
}

std::vector<RecallRow> recall_rows(const EpochRecord& record, std::int32_t attempt) {
  std::vector<RecallRow> rows;
  for (const RecallValue& recall : record.recalls) {
    RecallRow row{};
    set_fixed_field(row.trial, kIdWidth, record.trial_id);
    row.epoch = record.epoch;
    set_fixed_field(row.split, kSplitWidth, recall.split);
    row.k = recall.k;
    row.value = recall.value;
    row.attempt = attempt;
    row.queries = recall.queries;
    row.queries_total = recall.queries_total;
    row.gallery = recall.gallery;
    row.gallery_total = recall.gallery_total;
    rows.push_back(row);
  }
  return rows;
}

EpochRecord epoch_record(const EpochRow& row) {
  EpochRecord record;
  for_each_epoch_column([&](const auto& field, std::size_t offset) {
    auto& value = record.*field.member;
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) {
      value = fixed_field(row.bytes + offset, column_width<std::string>());
    } else {
      std::memcpy(&value, row.bytes + offset, sizeof value);
    }
  });
  return record;
}

const char* row_trial(const EpochRow& row) { return row.bytes + column_offset<&EpochRecord::trial_id>(); }

std::int32_t row_epoch(const EpochRow& row) {
  std::int32_t epoch = 0;
  std::memcpy(&epoch, row.bytes + column_offset<&EpochRecord::epoch>(), sizeof epoch);
  return epoch;
}

std::int32_t row_attempt(const EpochRow& row) {
  std::int32_t attempt = 0;
  std::memcpy(&attempt, row.bytes + kEpochAttemptOffset, sizeof attempt);
  return attempt;
}

RecallValue recall_value(const RecallRow& row) {
  return RecallValue{.split = fixed_field(row.split, kSplitWidth),
                     .k = row.k,
                     .value = row.value,
                     .queries = row.queries,
                     .queries_total = row.queries_total,
                     .gallery = row.gallery,
                     .gallery_total = row.gallery_total};
}

// One column per swept key: numbers as float64 (int64 when every value is
// an integer), booleans as numpy bools, anything else as text. A trial
// without the key gets NaN or "".
std::vector<ParamColumn> param_columns(const std::vector<TrialRow>& trials) {
  std::vector<std::string> keys;
  for (const TrialRow& trial : trials) {
    for (const std::string& key : trial.spec.swept_keys) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
  }
  std::vector<nlohmann::json> params;
  params.reserve(trials.size());
  for (const TrialRow& trial : trials) {
    nlohmann::json object = nlohmann::json::parse(trial.spec.params_json, nullptr, false);
    params.push_back(object.is_object() ? std::move(object) : nlohmann::json::object());
  }
  const auto special = [](const nlohmann::json& v) {
    return v.is_string() && (v == "inf" || v == "-inf" || v == "nan");
  };
  std::vector<ParamColumn> columns;
  for (const std::string& key : keys) {
    std::vector<const nlohmann::json*> values;
    bool all_integer = true, all_number = true, all_bool = true;
    for (const nlohmann::json& object : params) {
      auto it = object.find(key);
      const nlohmann::json* value = it == object.end() ? nullptr : &*it;
      values.push_back(value);
      if (value == nullptr) {
        all_integer = all_bool = false;
        continue;
      }
      if (!value->is_number_integer()) all_integer = false;
      if (!value->is_number() && !special(*value)) all_number = false;
      if (!value->is_boolean()) all_bool = false;
    }
    ParamColumn column;
    column.key = key;
    if (all_bool) {
      column.kind = ParamColumn::Kind::boolean;
      for (const nlohmann::json* v : values) column.booleans.push_back(v->get<bool>() ? 1 : 0);
    } else if (all_integer) {
      column.kind = ParamColumn::Kind::integer;
      for (const nlohmann::json* v : values) column.integers.push_back(v->get<std::int64_t>());
    } else if (all_number) {
      column.kind = ParamColumn::Kind::number;
      for (const nlohmann::json* v : values) {
        if (v == nullptr || *v == "nan") {
          column.numbers.push_back(std::numeric_limits<double>::quiet_NaN());
        } else if (v->is_string()) {
          column.numbers.push_back(*v == "inf" ? std::numeric_limits<double>::infinity()
                                               : -std::numeric_limits<double>::infinity());
        } else {
          column.numbers.push_back(v->get<double>());
        }
      }
    } else {
      column.kind = ParamColumn::Kind::text;
      for (const nlohmann::json* v : values) {
        column.texts.push_back(v == nullptr ? "" : v->is_string() ? v->get<std::string>() : v->dump());
      }
    }
    columns.push_back(std::move(column));
  }
  return columns;
}

void write_snapshot(Snapshot& snapshot, const std::string& path) {
  h5::Handle file = h5::create_file(path, kUserBlockSize);
  write_header(file, snapshot);
  write_trials(file, snapshot.trials);
  if (!snapshot.params) snapshot.params = param_columns(snapshot.trials);
  write_params(file, *snapshot.params);
  h5::Handle epochs = epoch_type();
  write_table(file, "epochs", epochs, snapshot.epochs, kEpochChunkRows);
  h5::Handle recalls = recall_type();
  write_table(file, "recalls", recalls, snapshot.recalls, kRecallChunkRows);
  h5::check(H5Fclose(file.release()), "writing the file");
  seal_snapshot(path, snapshot.version);
}

Snapshot read_image(std::vector<char>& bytes, const std::string& path, bool with_chunks) {
  const std::optional<std::int64_t> sealed = check_snapshot(bytes, path);
  h5::Handle file;
  try {
    file = h5::open_image(bytes);
  } catch (const h5::Failure& failure) {
    throw corrupt_store(path, std::string("HDF5 cannot open it (") + failure.what() + ")");
  }
  Snapshot snapshot;
  try {
    const std::optional<std::string> format = h5::read_string_attribute(file, "format");
    if (!format || *format != kFormatName) {
      throw refused(path,
                    "an HDF5 file, but not a cir results store (its root attribute 'format' is " +
                        (format ? "'" + *format + "'" : std::string("missing")) + ", not '" + kFormatName +
                        "')",
                    "cir will not touch files it did not write; choose another sweep name or "
                    "move the file away");
    }
    const std::optional<std::int64_t> version = h5::read_int_attribute(file, "version");
    if (!version || *version < 1) {
      throw refused(path, "the store has no valid 'version' attribute",
                    "the file is damaged; restore it from a backup or move it away");
    }
    if (sealed && *version != *sealed) {
      throw corrupt_store(path, "its 'version' attribute is " + std::to_string(*version) +
                                    ", its checksum block says format " + std::to_string(*sealed));
    }
    if (!sealed && *version >= kFirstSealedVersion) {
      throw refused(path,
                    "the store has format version " + std::to_string(*version) +
                        " but no checksum block, which begins every store of format " +
                        std::to_string(kFirstSealedVersion) +
                        " on: another program rewrote it, or its first bytes were damaged",
                    "restore it from a backup or move it away; cir reads a store of this format only "
                    "with its checksum");
    }
    snapshot.version = *version;
    SweepHeader& header = snapshot.header;
    header.sweep = h5::read_string_attribute(file, "sweep").value_or("");
    header.spec_text = h5::read_string_attribute(file, "spec_text").value_or("");
    header.spec_digest = h5::read_string_attribute(file, "spec_digest").value_or("");
    header.cir_version = h5::read_string_attribute(file, "cir_version").value_or("");
    header.created = h5::read_double_attribute(file, "created").value_or(0.0);
    header.updated = h5::read_double_attribute(file, "updated").value_or(0.0);
    header.requeues_timeout = h5::read_int_attribute(file, "requeues_timeout").value_or(0);
    header.requeues_preemption = h5::read_int_attribute(file, "requeues_preemption").value_or(0);
    header.runs_json = h5::read_string_attribute(file, "runs_json").value_or("[]");
    snapshot.generation = h5::read_int_attribute(file, "journal_generation").value_or(0);
    snapshot.trials = read_trials(file, path);
    h5::Handle epochs = epoch_type();
    snapshot.epochs = read_table<EpochRow>(file, "epochs", epochs, kEpochChunkRows, with_chunks);
    h5::Handle recalls = recall_type();
    snapshot.recalls = read_table<RecallRow>(file, "recalls", recalls, kRecallChunkRows, with_chunks);
  } catch (const h5::Failure& failure) {
    throw corrupt_store(path, failure.what());
  }
  return snapshot;
}

namespace {

// The whole file at `path`; nullopt when it does not exist.
std::optional<std::vector<char>> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    throw Error("cannot open the store: " + std::string(std::strerror(errno)), Where{.file = path},
                "check the path; cir-sweep writes results/<sweep>.h5", ExitCode::usage);
  }
  in.seekg(0, std::ios::end);
  std::vector<char> bytes(static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0)));
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in) {
    throw Error("cannot read the store: " + std::string(std::strerror(errno)), Where{.file = path}, {},
                ExitCode::store_refused);
  }
  return bytes;
}

}  // namespace

Snapshot read_store(const std::string& path, bool with_chunks) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    throw Error("this is a folder, not a store", Where{.file = path},
                "give the path of a results/<sweep>.h5 file", ExitCode::usage);
  }
  // A writer that replaces the snapshot between the two reads gives a
  // journal of a later generation; the next pair of reads sees them match.
  // A journal still later after many rereads extends no snapshot this store
  // will have (a journal of another store, or damaged): every reader waited
  // on it forever.
  constexpr int kRereads = 100;
  for (int reads = 1;; ++reads) {
    std::optional<std::vector<char>> bytes = read_bytes(path);
    if (!bytes) {
      throw Error("cannot open the store: " + std::string(std::strerror(ENOENT)), Where{.file = path},
                  "check the path; cir-sweep writes results/<sweep>.h5", ExitCode::usage);
    }
    Snapshot snapshot = read_image(*bytes, path, with_chunks);
    const std::string journal = journal_path(path);
    const std::optional<std::vector<char>> journal_bytes = read_bytes(journal);
    if (!journal_bytes || apply_journal(*journal_bytes, journal, snapshot) != JournalFit::newer)
      return snapshot;
    if (reads == kRereads)
      throw refused(journal,
                    "the journal extends a later snapshot than the store holds (generation " +
                        std::to_string(snapshot.generation) + "), read " + std::to_string(kRereads) +
                        " times",
                    "the journal is damaged or belongs to another store; move it away to fall back on the "
                    "store's last full snapshot (the commits it holds are then lost)");
  }
}

}  // namespace cir::store
