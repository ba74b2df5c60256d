// TensorBoard event files written without TensorFlow: the TFRecord framing
// (length, masked CRC-32C of the length, data, masked CRC-32C of the data)
// around protobuf-encoded tensorflow.Event messages
// (tensorflow/core/util/event.proto, summary.proto) and the hparams
// plugin's messages (tensorboard/plugins/hparams/api.proto,
// plugin_data.proto). Only the fields cir-report writes are encoded;
// tests/analysis/read_tfevents.py reads them back with the protobuf library.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cir::analysis::tfevents {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
std::uint32_t crc32c(std::string_view bytes);
// TFRecord's mask: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
std::uint32_t masked_crc32c(std::string_view bytes);
// One TFRecord: u64 length, u32 masked CRC of the length, data, u32 masked CRC of the data (little endian).
std::string record(std::string_view data);

// A protobuf message under construction (wire format, fields in call order).
class Message {
 public:
  Message& varint(int field, std::uint64_t value);
  Message& int64(int field, std::int64_t value) { return varint(field, static_cast<std::uint64_t>(value)); }
  Message& float64(int field, double value);  // wire type 1
  Message& float32(int field, float value);   // wire type 5
  Message& bytes(int field, std::string_view value);
  Message& message(int field, const Message& value) { return bytes(field, value.data()); }
  const std::string& data() const { return data_; }

 private:
  void key(int field, int wire_type);
  void raw_varint(std::uint64_t value);
  std::string data_;
};

using HParam = std::variant<double, std::string, bool>;

// Events (tensorflow.Event), as record() payloads.
std::string file_version_event(double wall_time);  // "brain.Event:2", the first event of a file
std::string scalar_event(double wall_time, std::int64_t step, const std::string& tag, float value);
// The experiment (the hparams dashboard's columns), written once in the log folder's root.
std::string experiment_event(double wall_time, const std::string& description,
                             const std::map<std::string, HParam>& hparam_types,
                             const std::vector<std::string>& metric_tags);
// A trial's hyperparameters, at the start of its run's file.
std::string session_start_event(double wall_time, const std::string& group,
                                const std::map<std::string, HParam>& hparams);
// How it ended: success, failure or running (hparams api.proto Status).
enum class SessionStatus { success = 1, failure = 2, running = 3 };
std::string session_end_event(double wall_time, SessionStatus status);

// Writes records to <folder>/events.out.tfevents.<seconds>.cir-report (the
// folder is created), starting with the file-version event.
class EventFile {
 public:
  EventFile(const std::filesystem::path& folder, double wall_time);
  void write(const std::string& event);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace cir::analysis::tfevents
