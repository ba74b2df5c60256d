// libFuzzer target for the spec loader: any bytes must either load, expand
// and print as a dry-run table and a resolved spec, or give a cir::Error —
// never another exception or a crash. An input whose first line is
// "--set key=value" also passes that line as a --set argument. A spec of
// more than kExpanded trials (up to launcher/spec.hpp kMaxTrials loads) is
// only loaded: expanding and printing 100,000 trials takes 2 s in a release
// build but over 30 s under AddressSanitizer, which libFuzzer calls a hang.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "launcher/expand.hpp"
#include "launcher/spec.hpp"

namespace {

constexpr double kExpanded = 2000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> sets;
  if (text.starts_with("--set ")) {
    const auto end = text.find('\n');
    sets.emplace_back(text.substr(6, end == std::string_view::npos ? end : end - 6));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  try {
    const auto spec = cir::launcher::load_spec_text(text, "fuzz.toml", sets);
    double count = 0;
    for (const auto& product : spec.products) {
      double points = static_cast<double>(spec.seeds.size());
      for (const auto& axis : product) points *= static_cast<double>(axis.values.size());
      count += points;
    }
    if (count > kExpanded) return 0;
    const auto trials = cir::launcher::expand(spec);
    cir::launcher::trial_table(spec, trials);
    cir::launcher::resolved_text(spec);
  } catch (const cir::Error&) {
  }
  return 0;
}
