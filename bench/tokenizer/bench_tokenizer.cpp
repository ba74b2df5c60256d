// Captions per second of cir's byte-level BPE: bench_tokenizer VOCAB MERGES
// CAPTIONS_JSON prints "cold warm": the first pass over the captions (empty
// cache) and the median of 5 further passes.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench/bench.hpp"
#include "model/text/bpe_tokenizer.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: bench_tokenizer VOCAB_JSON MERGES_TXT CAPTIONS_JSON\n");
    return 2;
  }
  const auto captions = nlohmann::json::parse(std::ifstream(argv[3])).get<std::vector<std::string>>();
  const cir::model::BpeTokenizer tokenizer(argv[1], argv[2]);
  std::size_t tokens = 0;
  const auto pass = [&] {
    for (const auto& caption : captions) tokens += tokenizer.encode(caption, 64).size();
  };
  const double t0 = cir::bench::now_seconds();
  pass();
  const double cold = cir::bench::now_seconds() - t0;
  const auto warm = cir::bench::median(cir::bench::time_calls(pass, 5, 0));
  std::printf("%.0f %.0f\n", static_cast<double>(captions.size()) / cold,
              static_cast<double>(captions.size()) / warm);
  return tokens > 0 ? 0 : 1;
}
