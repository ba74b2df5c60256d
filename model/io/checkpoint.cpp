#include "model/io/checkpoint.hpp"

#include "common/error.hpp"

namespace cir::model {

void save_checkpoint(const std::filesystem::path& path, const NamedTensors& tensors,
                     const nlohmann::json& meta) {
  write_safetensors(path, tensors,
                    {{"format", kCheckpointFormat},
                     {"version", std::to_string(kCheckpointVersion)},
                     {"meta", meta.dump()}});
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  const SafetensorsFile file(path);
  const Where where{.file = path.string()};
  const auto& metadata = file.metadata();
  const auto format = metadata.find("format");
  if (format == metadata.end() || format->second != kCheckpointFormat) {
    throw Error("not a cir checkpoint (a safetensors file without format 'cir-checkpoint' in its metadata)",
                where, "a plain weights file is loaded through model.*.weights, not as a checkpoint");
  }
  const auto version = metadata.find("version");
  if (version == metadata.end() || version->second != std::to_string(kCheckpointVersion)) {
    throw Error("cir checkpoint version '" + (version == metadata.end() ? std::string() : version->second) +
                    "' is not the version this build reads (" + std::to_string(kCheckpointVersion) + ")",
                where, "read it with the cir version that wrote it");
  }
  Checkpoint out;
  const auto meta = metadata.find("meta");
  try {
    out.meta = meta == metadata.end() ? nlohmann::json() : nlohmann::json::parse(meta->second);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(std::string("cir checkpoint metadata is not valid JSON: ") + e.what(), where);
  }
  out.tensors = file.tensors();
  return out;
}

}  // namespace cir::model
