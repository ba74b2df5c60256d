#include "model/io/state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/error.hpp"

namespace cir::model {

namespace {

std::string shape_text(torch::IntArrayRef shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

bool same_kind(torch::ScalarType a, torch::ScalarType b) {
  const bool fa = c10::isFloatingType(a), fb = c10::isFloatingType(b);
  const bool ia = c10::isIntegralType(a, false), ib = c10::isIntegralType(b, false);
  return (fa && fb) || (ia && ib) || a == b;
}

std::string list(const std::string& title, const std::vector<std::string>& lines) {
  if (lines.empty()) return {};
  std::string out = fmt::format("\n  {} ({}):", title, lines.size());
  for (const auto& line : lines) out += "\n    " + line;
  return out;
}

}  // namespace

NamedTensors module_state(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters(true)) out.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers(true)) out.emplace_back(item.key(), item.value());
  return out;
}

void load_state_strict(torch::nn::Module& module, const NamedTensors& state, const std::string& source,
                       const LoadOptions& options) {
  std::map<std::string, torch::Tensor> given;
  std::vector<std::string> unexpected;
  for (const auto& [raw, tensor] : state) {
    std::string key = raw;
    if (!options.strip_prefix.empty() && key.starts_with(options.strip_prefix)) {
      key = key.substr(options.strip_prefix.size());
    }
    given[key] = tensor;
  }
  std::vector<std::string> missing, mismatched;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  const auto own = module_state(module);
  std::set<std::string> known;
  for (const auto& [key, target] : own) {
    known.insert(key);
    const auto it = given.find(key);
    if (it == given.end()) {
      missing.push_back(fmt::format("{} {}", key, shape_text(target.sizes())));
      continue;
    }
    const auto& value = it->second;
    if (value.sizes() != target.sizes()) {
      mismatched.push_back(
          fmt::format("{}: file {} vs model {}", key, shape_text(value.sizes()), shape_text(target.sizes())));
    } else if (!same_kind(value.scalar_type(), target.scalar_type())) {
      mismatched.push_back(fmt::format("{}: file dtype {} vs model {}", key,
                                       c10::toString(value.scalar_type()),
                                       c10::toString(target.scalar_type())));
    } else {
      copies.emplace_back(target, value);
    }
  }
  for (const auto& [key, value] : given) {
    if (known.count(key)) continue;
    const bool skipped = std::any_of(options.skip_prefixes.begin(), options.skip_prefixes.end(),
                                     [&](const std::string& p) { return key.starts_with(p); });
    if (!skipped) unexpected.push_back(fmt::format("{} {}", key, shape_text(value.sizes())));
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    throw Error(
        fmt::format("state does not fit the model ({} missing, {} unexpected, {} mismatched){}{}{}",
                    missing.size(), unexpected.size(), mismatched.size(),
                    list("missing from the file", missing), list("unexpected in the file", unexpected),
                    list("shape or dtype mismatch", mismatched)),
        Where{.file = source},
        "the weights were written for another architecture or configuration; "
        "check the model settings against the file");
  }
  torch::NoGradGuard no_grad;
  for (auto& [target, value] : copies) target.copy_(value);
}

void load_state_strict(torch::nn::Module& module, const SafetensorsFile& file, const LoadOptions& options) {
  load_state_strict(module, file.tensors(), file.path().string(), options);
}

void load_state_strict(torch::nn::Module& module, const std::filesystem::path& file,
                       const LoadOptions& options) {
  load_state_strict(module, SafetensorsFile(file), options);
}

void save_state(const torch::nn::Module& module, const std::filesystem::path& file,
                const std::map<std::string, std::string>& metadata) {
  write_safetensors(file, module_state(module), metadata);
}

}  // namespace cir::model
