#include "analysis/tfevents.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>

#include "common/error.hpp"

namespace cir::analysis::tfevents {

namespace {

constexpr std::array<std::uint32_t, 256> crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> kCrcTable = crc_table();

void little_endian(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xFFu);
}

// Summary { value { tag, metadata { plugin_data { plugin_name: "hparams", content } } } }
Message hparams_summary(const std::string& tag, const Message& content) {
  Message plugin_data;
  plugin_data.bytes(1, "hparams").message(2, content);
  Message metadata;
  metadata.message(1, plugin_data);
  Message value;
  value.bytes(1, tag).message(9, metadata);
  Message summary;
  summary.message(1, value);
  return summary;
}

std::string summary_event(double wall_time, const Message& summary) {
  Message event;
  event.float64(1, wall_time).message(5, summary);
  return event.data();
}

// google.protobuf.Value
Message value_of(const HParam& v) {
  Message m;
  if (const auto* d = std::get_if<double>(&v)) m.float64(2, *d);
  if (const auto* s = std::get_if<std::string>(&v)) m.bytes(3, *s);
  if (const auto* b = std::get_if<bool>(&v)) m.varint(4, *b ? 1 : 0);
  return m;
}

// hparams api.proto DataType
int data_type(const HParam& v) {
  if (std::holds_alternative<std::string>(v)) return 1;
  if (std::holds_alternative<bool>(v)) return 2;
  return 3;
}

}  // namespace

std::uint32_t crc32c(std::string_view bytes) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) c = kCrcTable[(c ^ b) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::uint32_t masked_crc32c(std::string_view bytes) {
  const std::uint32_t c = crc32c(bytes);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

std::string record(std::string_view data) {
  std::string length;
  little_endian(length, data.size(), 8);
  std::string out = length;
  little_endian(out, masked_crc32c(length), 4);
  out += data;
  little_endian(out, masked_crc32c(data), 4);
  return out;
}

void Message::key(int field, int wire_type) {
  raw_varint((static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(wire_type));
}

void Message::raw_varint(std::uint64_t value) {
  while (value >= 0x80) {
    data_ += static_cast<char>((value & 0x7F) | 0x80);
    value >>= 7;
  }
  data_ += static_cast<char>(value);
}

Message& Message::varint(int field, std::uint64_t value) {
  key(field, 0);
  raw_varint(value);
  return *this;
}

Message& Message::float64(int field, double value) {
  key(field, 1);
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  little_endian(data_, bits, 8);
  return *this;
}

Message& Message::float32(int field, float value) {
  key(field, 5);
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  little_endian(data_, bits, 4);
  return *this;
}

Message& Message::bytes(int field, std::string_view value) {
  key(field, 2);
  raw_varint(value.size());
  data_ += value;
  return *this;
}

std::string file_version_event(double wall_time) {
  Message event;
  event.float64(1, wall_time).bytes(3, "brain.Event:2");
  return event.data();
}

std::string scalar_event(double wall_time, std::int64_t step, const std::string& tag, float value) {
  Message v;
  v.bytes(1, tag).float32(2, value);
  Message summary;
  summary.message(1, v);
  Message event;
  event.float64(1, wall_time).int64(2, step).message(5, summary);
  return event.data();
}

std::string experiment_event(double wall_time, const std::string& description,
                             const std::map<std::string, HParam>& hparam_types,
                             const std::vector<std::string>& metric_tags) {
  Message experiment;
  experiment.bytes(1, description);
  for (const auto& [name, example] : hparam_types) {
    Message info;
    info.bytes(1, name).varint(4, static_cast<std::uint64_t>(data_type(example)));
    experiment.message(4, info);
  }
  for (const std::string& tag : metric_tags) {
    Message name;
    name.bytes(2, tag);
    Message info;
    info.message(1, name);
    experiment.message(5, info);
  }
  Message content;
  content.message(2, experiment);
  return summary_event(wall_time, hparams_summary("_hparams_/experiment", content));
}

std::string session_start_event(double wall_time, const std::string& group,
                                const std::map<std::string, HParam>& hparams) {
  Message start;
  for (const auto& [name, value] : hparams) {
    Message entry;
    entry.bytes(1, name).message(2, value_of(value));
    start.message(1, entry);
  }
  start.bytes(4, group).float64(5, wall_time);
  Message content;
  content.message(3, start);
  return summary_event(wall_time, hparams_summary("_hparams_/session_start_info", content));
}

std::string session_end_event(double wall_time, SessionStatus status) {
  Message end;
  end.varint(1, static_cast<std::uint64_t>(status)).float64(2, wall_time);
  Message content;
  content.message(4, end);
  return summary_event(wall_time, hparams_summary("_hparams_/session_end_info", content));
}

EventFile::EventFile(const std::filesystem::path& folder, double wall_time) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  path_ = folder / fmt::format("events.out.tfevents.{}.cir-report", static_cast<std::int64_t>(wall_time));
  out_.open(path_, std::ios::binary | std::ios::trunc);
  if (!out_) {
    throw Error("cannot write a TensorBoard event file", Where{.file = path_.string()},
                "give --export tensorboard a folder you can write");
  }
  write(file_version_event(wall_time));
}

void EventFile::write(const std::string& event) {
  out_ << record(event);
  if (!out_)
    throw Error("cannot write a TensorBoard event file", Where{.file = path_.string()}, "is the disk full?");
}

}  // namespace cir::analysis::tfevents
