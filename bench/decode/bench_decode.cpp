// Decode + RandomResizedCrop + flip + normalise throughput of cir's loader
// path (TurboJPEG with DCT scaling, antialiased resampling) on a folder of
// JPEGs, with the loader's worker threads and prefetch. Prints images/s,
// the median of --repeats passes.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "datasets/dataset.hpp"
#include "datasets/prefetcher.hpp"

int main(int argc, char** argv) {
  CLI::App app{"bench_decode: images/s of cir's training image path"};
  std::string folder;
  int workers = 2, size = 224, batch = 32, repeats = 5;
  app.add_option("FOLDER", folder, "folder of JPEG files")->required();
  app.add_option("--workers", workers, "loader threads")->capture_default_str();
  app.add_option("--size", size, "output side (px)")->capture_default_str();
  app.add_option("--batch", batch, "images a batch")->capture_default_str();
  app.add_option("--repeats", repeats, "passes (median reported)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(folder))
    if (e.path().extension() == ".jpg") files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  const auto n = static_cast<std::int64_t>(files.size());
  auto source = std::make_shared<cir::datasets::FileImageSource>(folder, files);
  const cir::datasets::Dataset dataset("bench", source, {}, {}, size);

  cir::datasets::Prefetcher<torch::Tensor> prefetcher(workers, 4);
  const std::int64_t batches = (n + batch - 1) / batch;
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    prefetcher.start(batches, [&](std::int64_t b) {
      const std::int64_t first = b * batch, last = std::min(n, first + batch);
      auto out = torch::empty({last - first, 3, size, size});
      for (std::int64_t i = first; i < last; ++i)
        dataset.train_image_into(i, 0, r, i, out.data_ptr<float>() + (i - first) * 3 * size * size);
      return out;
    });
    std::int64_t images = 0;
    while (auto t = prefetcher.next()) images += t->size(0);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rates.push_back(images / seconds);
  }
  std::sort(rates.begin(), rates.end());
  fmt::print("{:.1f}\n", rates[rates.size() / 2]);
  return 0;
}
