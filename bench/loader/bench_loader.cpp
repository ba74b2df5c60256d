// Images/s of cir's training loader (datasets/loader.hpp TrainLoader, as
// the trainer opens it) on the synthetic dataset: each batch rendered,
// randomly cropped and normalised at --size, two images a sample (reference
// and target), captions tokenised (by the LSTM's word vocabulary: RoBERTa's
// needs its weights' files), by --workers threads at most --prefetch
// batches ahead (data.workers, data.prefetch). The consumer only takes the
// batches, in pinned memory where a GPU is. Prints one line: images/s (the median of --epochs epochs) and
// the data.prefetch it ran with.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "bench/bench.hpp"
#include "common/keys.hpp"
#include "common/params.hpp"
#include "datasets/dataset.hpp"
#include "datasets/loader.hpp"
#include "model/text/text_stack.hpp"

int main(int argc, char** argv) {
  namespace keys = cir::keys;
  int workers = 2, size = 224, batch = 32, epochs = 3;
  std::int64_t prefetch = keys::data::prefetch.integer_default;
  std::int64_t samples = keys::data::synthetic::train_queries.integer_default;
  CLI::App app{"bench_loader: images/s of cir's training loader on the synthetic dataset"};
  app.add_option("--workers", workers, "loader threads (data.workers)")->capture_default_str();
  app.add_option("--prefetch", prefetch, "batches decoded ahead (data.prefetch)")->capture_default_str();
  app.add_option("--size", size, "image side, px (data.image_size)")->capture_default_str();
  app.add_option("--batch", batch, "samples a batch (train.batch)")->capture_default_str();
  app.add_option("--samples", samples, "training triplets an epoch (data.synthetic.train_queries)")
      ->capture_default_str();
  app.add_option("--epochs", epochs, "timed epochs (median reported)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  namespace keys = cir::keys;
  const cir::Params params(
      fmt::format(
          R"({{"seed": 0, "{}": "synthetic", "{}": {}, "{}": {}, "{}": {}, "{}": {}, "{}": {}, "{}": "lstm"}})",
          keys::data::dataset.name, keys::data::image_size.name, size, keys::data::workers.name, workers,
          keys::data::prefetch.name, prefetch, keys::train::batch.name, batch,
          keys::data::synthetic::train_queries.name, samples, keys::model::text::encoder.name),
      "bench");
  try {
    const std::shared_ptr<const cir::datasets::Dataset> dataset = cir::datasets::open_dataset(params);
    const auto tokenizer = cir::model::make_text_stack(params, dataset->training_captions()).tokenizer;
    // In pinned memory where a GPU is, as a CUDA trial's loader makes them.
    const auto memory = torch::cuda::is_available() ? cir::datasets::BatchMemory::pinned
                                                    : cir::datasets::BatchMemory::pageable;
    cir::datasets::TrainLoader loader(dataset, tokenizer, params, 0, 1, 0, memory);
    std::vector<double> rates;
    for (int epoch = 0; epoch < epochs; ++epoch) {
      const double t0 = cir::bench::now_seconds();
      loader.start_epoch(epoch);
      std::int64_t images = 0;
      while (auto b = loader.next()) images += b->reference.size(0) + b->target.size(0);
      rates.push_back(static_cast<double>(images) / (cir::bench::now_seconds() - t0));
    }
    fmt::print("{:.1f} {}\n", cir::bench::median(rates), prefetch);
  } catch (const cir::Error& e) {
    fmt::print(stderr, "bench_loader: {}\n", e.what());
    return 2;
  }
  return 0;
}
