#include "datasets/readers.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/text.hpp"
#include "datasets/export.hpp"
#include "datasets/image.hpp"
#include "datasets/loader.hpp"
#include "datasets/synthetic.hpp"
#include "datasets/validate.hpp"
#include "support.hpp"
#include "tests/shell.hpp"

namespace cir::datasets {
namespace {

namespace fs = std::filesystem;
using testing::params;

std::shared_ptr<SyntheticDataset> synthetic() { return make_synthetic(SyntheticOptions::from(params())); }

ReaderOptions options(const fs::path& root, const std::string& layout = "official") {
  ReaderOptions o;
  o.root = root;
  o.layout = layout;
  o.image_size = 32;
  return o;
}

// The file name without folders and extension: the synthetic id.
std::string id_of(const ImageSource& images, std::int64_t i) {
  return fs::path(images.name(i)).stem().string();
}
std::string id_of(std::int64_t i) { return fmt::format("syn{:06d}", i); }

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

void replace_in(const fs::path& p, const std::string& from, const std::string& to) {
  auto text = read(p);
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  write(p, text);
}

class Exported : public ::testing::Test {
 protected:
  void export_as(const std::string& format) { export_synthetic(*syn, format, dir.path()); }
  std::shared_ptr<SyntheticDataset> syn = synthetic();
  testing::ScratchDir dir{"readers"};
};

TEST_F(Exported, FashionIqOfficialLayoutReadsBackTheTripletsAndTheValProtocol) {
  export_as("fashioniq");
  const auto ds = read_fashioniq(options(dir.path()));
  // Training on the union: dress (queries 0, 3, …), then shirt, then toptee.
  ASSERT_EQ(ds->training().size(), syn->training().size());
  std::vector<std::size_t> order;
  for (std::size_t s = 0; s < 3; ++s)
    for (std::size_t q = s; q < syn->training().size(); q += 3) order.push_back(q);
  for (std::size_t i = 0; i < order.size(); ++i) {
    const auto& ours = ds->training()[i];
    const auto& truth = syn->training()[order[i]];
    EXPECT_EQ(ours.caption, truth.caption);  // "c1 and c2"
    EXPECT_EQ(id_of(ds->images(), ours.reference), id_of(truth.reference));
    EXPECT_EQ(id_of(ds->images(), ours.target), id_of(truth.target));
  }
  ASSERT_EQ(ds->splits().size(), 3u);
  EXPECT_EQ(ds->splits()[0].name, "dress");
  EXPECT_EQ(ds->splits()[2].name, "toptee");
  for (std::size_t s = 0; s < 3; ++s) {
    const auto& split = ds->splits()[s];
    std::set<std::string> refs_and_targets;
    for (std::size_t q = s; q < syn->splits()[0].queries.size(); q += 3) {
      refs_and_targets.insert(id_of(syn->splits()[0].queries[q].reference));
      refs_and_targets.insert(id_of(syn->labelled_test_target(q)));
    }
    EXPECT_EQ(split.gallery.size(), refs_and_targets.size());
    for (std::size_t k = 0; k < split.queries.size(); ++k) {
      const auto& query = split.queries[k];
      const std::size_t q = s + 3 * k;
      ASSERT_EQ(query.true_matches.size(), 1u);
      EXPECT_EQ(id_of(ds->images(), split.gallery[query.true_matches[0]]),
                id_of(syn->labelled_test_target(q)));
      EXPECT_EQ(split.gallery[query.exclude], query.reference);
      EXPECT_EQ(query.caption, syn->splits()[0].queries[q].caption);
    }
  }
  // The pixels survive the trip (JPEG for training images, PNG for test ones).
  const auto png = ds->splits()[0].queries[0].reference;
  EXPECT_TRUE(torch::allclose(ds->eval_image(png), syn->eval_image(syn->splits()[0].queries[0].reference)));
  EXPECT_LT((ds->eval_image(ds->training()[0].reference) - syn->eval_image(syn->training()[0].reference))
                .abs()
                .mean()
                .item<float>(),
            0.1);
}

TEST_F(Exported, RealDatasetsKeepTheReferenceFlipOfTrainingImages) {
  // The same synthetic pictures read as FashionIQ files: about half the
  // training draws show the shape mirrored to the other side.
  export_as("fashioniq");
  const auto ds = read_fashioniq(options(dir.path()));
  EXPECT_EQ(ds->mirroring(), Mirroring::allowed);
  int drawn = 0, mirrored = 0;
  for (std::size_t t = 0; t < ds->training().size(); ++t) {
    const auto image = ds->training()[t].reference;
    const auto number = std::stoll(id_of(ds->images(), image).substr(3));
    const bool left = syn->instances().at(number).attributes.position % 2 == 0;
    for (std::int64_t epoch = 0; epoch < 4; ++epoch) {
      const auto [x, y] = testing::shape_centre(ds->train_image(image, 5, epoch, 2 * t));
      mirrored += (x < 0.5) != left;
      ++drawn;
    }
  }
  EXPECT_GT(mirrored, drawn * 3 / 10) << drawn << " draws";
  EXPECT_LT(mirrored, drawn * 7 / 10) << drawn << " draws";
}

TEST_F(Exported, FashionIqSplitProtocolUsesTheWholeValSplit) {
  export_as("fashioniq");
  auto o = options(dir.path());
  o.fashioniq_protocol = "split";
  const auto ds = read_fashioniq(o);
  for (const auto& split : ds->splits())
    EXPECT_EQ(split.gallery.size(), static_cast<std::size_t>(syn->pool_size()));
}

TEST_F(Exported, FashionIqDerivedLayoutGivesOneOrTwoSamplesPerTriplet) {
  export_as("fashioniq");
  auto o = options(dir.path(), "derived");
  const auto two = read_fashioniq(o);
  ASSERT_EQ(two->training().size(), 2 * syn->training().size());
  const auto& c = syn->train_captions(0);
  EXPECT_EQ(two->training()[0].caption, c.first + " and " + c.second);
  EXPECT_EQ(two->training()[1].caption, c.second + " and " + c.first);
  EXPECT_EQ(two->training()[1].target, two->training()[0].target);
  EXPECT_EQ(two->splits()[0].queries.size(), 2 * ((syn->splits()[0].queries.size() + 2) / 3));
  o.queries_per_triplet = 1;
  const auto one = read_fashioniq(o);
  const auto official = read_fashioniq(options(dir.path()));
  ASSERT_EQ(one->training().size(), official->training().size());
  for (std::size_t i = 0; i < one->training().size(); ++i)
    EXPECT_EQ(one->training()[i].caption, official->training()[i].caption);
  EXPECT_EQ(one->splits()[1].queries.size(), official->splits()[1].queries.size());
}

TEST_F(Exported, ShoesReadsBackTripletsGalleryAndQueries) {
  export_as("shoes");
  const auto ds = read_shoes(options(dir.path()));
  ASSERT_EQ(ds->training().size(), syn->training().size());
  for (std::size_t i = 0; i < ds->training().size(); ++i) {
    EXPECT_EQ(ds->training()[i].caption, syn->training()[i].caption);
    EXPECT_EQ(id_of(ds->images(), ds->training()[i].target), id_of(syn->training()[i].target));
  }
  ASSERT_EQ(ds->splits().size(), 1u);
  const auto& split = ds->splits()[0];
  EXPECT_EQ(split.gallery.size(), static_cast<std::size_t>(syn->pool_size()));
  ASSERT_EQ(split.queries.size(), syn->splits()[0].queries.size());
  for (std::size_t q = 0; q < split.queries.size(); ++q) {
    EXPECT_EQ(id_of(ds->images(), split.gallery[split.queries[q].true_matches.at(0)]),
              id_of(syn->labelled_test_target(q)));
    EXPECT_EQ(split.gallery[split.queries[q].exclude], split.queries[q].reference);
  }
}

TEST_F(Exported, Fashion200kMakesOneWordPairsAndSeveralTrueMatchesByCaption) {
  export_as("fashion200k");
  auto o = options(dir.path());
  const auto ds = read_fashion200k(o);
  std::map<std::string, std::string> caption;  // id -> caption
  for (std::int64_t i = 0; i < syn->images().size(); ++i)
    caption[id_of(i)] = fashion200k_caption(syn->instances()[i].attributes);
  ASSERT_GT(ds->training().size(), 10u);
  for (const auto& t : ds->training()) {
    const auto from = caption[id_of(ds->images(), t.reference)], to = caption[id_of(ds->images(), t.target)];
    EXPECT_NE(from, to);
    EXPECT_EQ(t.caption.rfind("replace ", 0), 0u) << t.caption;
    EXPECT_LT(id_of(ds->images(), t.reference), id_of(syn->pool_size()));  // training pool only
  }
  const auto& split = ds->splits()[0];
  EXPECT_EQ(split.gallery.size(), static_cast<std::size_t>(syn->pool_size()));
  ASSERT_GT(split.queries.size(), 5u);
  for (const auto& q : split.queries) {
    EXPECT_EQ(q.true_matches.size(), 3u);  // the target and its twins share the caption
    std::set<std::string> captions;
    for (auto m : q.true_matches) captions.insert(caption[id_of(ds->images(), split.gallery[m])]);
    EXPECT_EQ(captions.size(), 1u);
  }
  // Another pairs seed draws other pairs; the same seed the same ones.
  const auto again = read_fashion200k(o);
  o.pairs_seed = 9;
  const auto other = read_fashion200k(o);
  EXPECT_EQ(again->training_captions(), ds->training_captions());
  EXPECT_NE(other->training_captions(), ds->training_captions());
}

TEST_F(Exported, MissingImagesStopWithTheListOrAreSkippedAndCounted) {
  export_as("shoes");
  const auto gone = dir.path() / "attributedata" / "circle";
  std::int64_t removed = 0;
  for (const auto& colour : fs::directory_iterator(gone))
    for (const auto& f : fs::directory_iterator(colour)) removed += fs::remove(f.path());
  ASSERT_GT(removed, 0);
  try {
    read_shoes(options(dir.path()));
    FAIL() << "read although images are missing";
  } catch (const Error& e) {
    // Shoes names say nothing of the subfolder: a missing image is named by its file name.
    EXPECT_NE(std::string(e.what()).find("× missing image"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("attributedata/syn"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("data.missing_images"), std::string::npos) << e.what();
  }
  auto o = options(dir.path());
  o.missing_images = "skip";
  const auto ds = read_shoes(o);
  const auto& d = ds->dropped();
  EXPECT_GT(d.images, 0);
  EXPECT_LE(d.images, removed);  // training images that no triplet uses are not read
  EXPECT_GT(d.triplets, 0);
  EXPECT_EQ(ds->training().size() + d.triplets, syn->training().size());
  const auto& split = ds->splits()[0];
  EXPECT_GT(split.dropped_queries, 0);
  EXPECT_GT(split.dropped_gallery, 0);
  EXPECT_EQ(split.queries.size() + split.dropped_queries, syn->splits()[0].queries.size());
  EXPECT_EQ(split.gallery.size() + split.dropped_gallery, static_cast<std::size_t>(syn->pool_size()));
  for (const auto& t : ds->training()) {
    EXPECT_TRUE(fs::exists(ds->images().name(t.reference)));
    EXPECT_TRUE(fs::exists(ds->images().name(t.target)));
  }
  for (const auto& q : ds->splits()[0].queries)
    for (auto m : q.true_matches) EXPECT_TRUE(fs::exists(ds->images().name(ds->splits()[0].gallery[m])));
}

// FashionIQ has three evaluation splits: an image that only the dress split
// uses shortens the dress split alone, and each split's counts add up to its
// full protocol (what the store records as queries of queries_total).
TEST_F(Exported, SkippedImagesAreCountedPerEvaluationSplit) {
  export_as("fashioniq");
  const auto full = read_fashioniq(options(dir.path()));
  ASSERT_EQ(full->splits().size(), 3u);
  const auto in_gallery = [](const EvalSplit& split, std::int64_t image) {
    return std::find(split.gallery.begin(), split.gallery.end(), image) != split.gallery.end();
  };
  std::int64_t gone = -1;
  for (const auto& q : full->splits()[0].queries) {
    if (!in_gallery(full->splits()[1], q.reference) && !in_gallery(full->splits()[2], q.reference)) {
      gone = q.reference;
      break;
    }
  }
  ASSERT_GE(gone, 0) << "every dress query's reference is in another split's gallery too";
  ASSERT_TRUE(fs::remove(full->images().name(gone)));

  auto o = options(dir.path());
  o.missing_images = "skip";
  const auto ds = read_fashioniq(o);
  EXPECT_EQ(ds->dropped().images, 1);
  ASSERT_EQ(ds->splits().size(), 3u);
  for (std::size_t s = 0; s < 3; ++s) {
    const EvalSplit& before = full->splits()[s];
    const EvalSplit& after = ds->splits()[s];
    // Every query has one true match: it goes when its reference or its target is the missing image.
    std::int64_t lost = 0;
    for (const auto& q : before.queries)
      lost += q.reference == gone || before.gallery[q.true_matches.at(0)] == gone ? 1 : 0;
    EXPECT_EQ(after.dropped_queries, lost) << after.name;
    EXPECT_EQ(after.dropped_gallery, in_gallery(before, gone) ? 1 : 0) << after.name;
    EXPECT_EQ(after.queries.size() + after.dropped_queries, before.queries.size()) << after.name;
    EXPECT_EQ(after.gallery.size() + after.dropped_gallery, before.gallery.size()) << after.name;
  }
  EXPECT_GT(ds->splits()[0].dropped_queries, 0);
  EXPECT_EQ(ds->splits()[1].dropped_queries + ds->splits()[1].dropped_gallery, 0);
  EXPECT_EQ(ds->splits()[2].dropped_queries + ds->splits()[2].dropped_gallery, 0);
  const std::string stats = describe_stats(*ds);
  EXPECT_NE(stats.find(fmt::format("split dress: gallery {}, queries {}", ds->splits()[0].gallery.size(),
                                   ds->splits()[0].queries.size())),
            std::string::npos)
      << stats;
  EXPECT_NE(stats.find(fmt::format("  dropped for missing images: gallery 1, queries {}\n",
                                   ds->splits()[0].dropped_queries)),
            std::string::npos)
      << stats;
  EXPECT_EQ(stats.find("gallery 0, queries 0"), std::string::npos) << "only the dress split lost anything";
}

TEST_F(Exported, BadIndexEntriesAreErrorsNamingFileAndLine) {
  export_as("fashioniq");
  const auto pairs = dir.path() / "captions_pairs" / "fashion_iq-train-cap-shirt.txt";
  // Line 3: an empty caption; line 4: bytes that are not UTF-8.
  std::vector<std::string> lines;
  std::istringstream in(read(pairs));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  lines[2] = lines[2].substr(0, lines[2].rfind(';') + 1) + "  ";
  lines[3] = lines[3].substr(0, lines[3].rfind(';') + 1) + "caf\xE9 au lait";
  std::string broken;
  for (const auto& line : lines) broken += line + "\n";
  write(pairs, broken);
  fs::remove(dir.path() / "captions_pairs" / "fashion_iq-val-cap-toptee.txt");
  try {
    read_fashioniq(options(dir.path(), "derived"));
    FAIL();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(pairs.string() + ":3: bad entry: line: empty caption"), std::string::npos) << what;
    EXPECT_NE(what.find(pairs.string() + ":4: text not UTF-8"), std::string::npos) << what;
    EXPECT_NE(what.find("fashion_iq-val-cap-toptee.txt: missing index file"), std::string::npos) << what;
    EXPECT_NE(what.find("cir-data validate"), std::string::npos) << what;
  }
  // An id naming no image in the official layout.
  replace_in(dir.path() / "captions" / "cap.dress.train.json", "\"syn0000", "\"nosuch0000");
  try {
    read_fashioniq(options(dir.path()));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("images/nosuch0000"), std::string::npos) << e.what();
  }
}

// Puts a Latin-1 'é' (0xE9, not UTF-8) `skip` bytes into the first `needle`
// of `file`; returns the line and the byte offset it lands at.
std::pair<int, std::size_t> break_utf8(const fs::path& file, const std::string& needle,
                                       std::size_t skip = 0) {
  auto text = read(file);
  auto at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  at += skip;
  text.insert(at, "\xE9");
  write(file, text);
  return {1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n')), at};
}

std::string where_not_utf8(const fs::path& file, std::pair<int, std::size_t> at) {
  return fmt::format("{}:{}: text not UTF-8: byte offset {} (0xE9)", file.string(), at.first, at.second);
}

TEST_F(Exported, FashionIqCaptionsThatAreNotUtf8AreRefusedWithFileLineAndOffsetOrReplaced) {
  export_as("fashioniq");
  const auto file = dir.path() / "captions" / "cap.shirt.train.json";
  const auto first = syn->train_captions(1).first;  // the first shirt triplet's first caption
  const auto at = break_utf8(file, "\"" + first + "\"", 1);
  try {
    read_fashioniq(options(dir.path()));
    FAIL() << "read although a caption is not UTF-8";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(where_not_utf8(file, at)), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("data.invalid_text = \"replace\""), std::string::npos) << e.hint();
  }
  auto o = options(dir.path());
  o.invalid_text = "replace";
  const auto ds = read_fashioniq(o);
  ASSERT_EQ(ds->training().size(), syn->training().size());
  std::size_t repaired = 0;
  for (const auto& t : ds->training())
    repaired += t.caption.find("\xEF\xBF\xBD" + first) != std::string::npos;
  EXPECT_GE(repaired, 1u);
  // cir-data validate lists it the same way.
  const auto problems = validate_folder("fashioniq", options(dir.path()), 1);
  ASSERT_EQ(problems.count(ProblemKind::bad_text), 1u);
  EXPECT_NE(problems.summary(10).find(where_not_utf8(file, at)), std::string::npos) << problems.summary(10);
}

TEST_F(Exported, ShoesAndFashion200kFilesThatAreNotUtf8NameFileLineAndOffset) {
  export_as("shoes");
  const auto captions = dir.path() / "relative_captions_shoes.json";
  const auto names = dir.path() / "eval_im_names.txt";
  const auto in_captions = break_utf8(captions, "\"" + syn->training()[0].caption + "\"", 1);
  const auto in_names = break_utf8(names, "syn");
  const auto problems = scan_dataset("shoes", options(dir.path())).problems;
  EXPECT_EQ(problems.count(ProblemKind::bad_text), 2u);
  const auto text = problems.summary(100);
  EXPECT_NE(text.find(where_not_utf8(captions, in_captions)), std::string::npos) << text;
  EXPECT_NE(text.find(where_not_utf8(names, in_names)), std::string::npos) << text;
  auto o = options(dir.path());
  o.invalid_text = "replace";
  EXPECT_EQ(scan_dataset("shoes", o).problems.count(ProblemKind::bad_text), 0u);

  testing::ScratchDir f200k{"readers_f200k"};
  export_synthetic(*syn, "fashion200k", f200k.path());
  fs::path labels;
  for (const auto& e : fs::directory_iterator(f200k.path() / "labels"))
    if (e.path().string().ends_with("_train_detect_all.txt")) labels = e.path();
  const auto in_labels = break_utf8(labels, "\t");
  const auto queries = f200k.path() / "test_queries.txt";
  const auto in_queries = break_utf8(queries, " ");
  try {
    read_fashion200k(options(f200k.path()));
    FAIL() << "read although a label file is not UTF-8";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(where_not_utf8(labels, in_labels)), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(where_not_utf8(queries, in_queries)), std::string::npos) << e.what();
  }
}

TEST_F(Exported, ValidateListsMissingAndCorruptImagesWithPaths) {
  export_as("fashioniq");
  EXPECT_TRUE(validate_folder("fashioniq", options(dir.path()), 2).empty());
  const auto png =
      dir.path() / "images" / fmt::format("syn{:06d}.png", syn->splits()[0].queries[0].reference);
  const auto jpg = dir.path() / "images" / "syn000002.jpg";
  auto bytes = read(png);
  write(png, bytes.substr(0, bytes.size() / 2));
  bytes = read(jpg);
  write(jpg, bytes.substr(0, bytes.size() - 10));
  fs::remove(dir.path() / "images" / "syn000001.jpg");
  for (int threads : {1, 3}) {
    const auto problems = validate_folder("fashioniq", options(dir.path()), threads);
    EXPECT_EQ(problems.count(ProblemKind::missing_image), 1u);
    EXPECT_EQ(problems.count(ProblemKind::bad_image), 2u);
    const auto text = problems.summary(100);
    EXPECT_NE(text.find(png.string()), std::string::npos) << text;
    EXPECT_NE(text.find(jpg.string()), std::string::npos) << text;
    EXPECT_NE(text.find("syn000001"), std::string::npos) << text;
  }
  // Reading succeeds when nothing is missing but the corrupt image fails the
  // first batch that needs it, naming the file.
  fs::copy_file(dir.path() / "images" / "syn000000.jpg", dir.path() / "images" / "syn000001.jpg");
  const auto ds = read_fashioniq(options(dir.path()));
  std::int64_t corrupt = -1;
  for (std::int64_t i = 0; i < ds->images().size(); ++i)
    if (ds->images().name(i) == jpg.string()) corrupt = i;
  ASSERT_GE(corrupt, 0);
  try {
    ds->train_image(corrupt, 0, 0, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where().file, jpg.string());
  }
}

// Each line of a problem summary, after its first (the counts).
std::vector<std::string> problem_lines(const Problems& problems) {
  std::vector<std::string> lines;
  std::istringstream in(problems.summary(problems.all().size()));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

TEST_F(Exported, ValidateChecksEveryFileOnceAndNamesMissingImagesAsTheFolderHasThem) {
  export_as("fashioniq");
  // An unparseable captions file, a missing split file, a missing training
  // image and a val target missing from its split: every one is found, each
  // once, and none hides the others.
  const auto captions = dir.path() / "captions" / "cap.dress.val.json";
  const std::string cut = read(captions).substr(0, 40);
  write(captions, cut);
  const auto cut_line = std::to_string(std::count(cut.begin(), cut.end(), '\n') + 1);
  fs::remove(dir.path() / "image_splits" / "split.shirt.val.json");
  // Every image as a .jpg (the export writes the val images as .png), as
  // in the official release; then a training image goes missing.
  for (const auto& e : fs::directory_iterator(dir.path() / "images")) {
    if (e.path().extension() != ".png") continue;
    write_jpeg(fs::path(e.path()).replace_extension(".jpg"), decode_file(e.path()).image);
    fs::remove(e.path());
  }
  const fs::path image = dir.path() / "images" / (id_of(syn->training().back().target) + ".jpg");
  ASSERT_TRUE(fs::exists(image));
  fs::remove(image);
  const auto toptee = dir.path() / "image_splits" / "split.toptee.val.json";
  auto ids = nlohmann::json::parse(read(toptee));
  const auto pairs = read(dir.path() / "captions_pairs" / "fashion_iq-val-cap-toptee.txt");
  const std::string first = pairs.substr(0, pairs.find('\n'));
  const auto a = first.find(';'), b = first.find(';', a + 1);
  const std::string target = first.substr(a + 1, b - a - 1);
  ids.erase(std::find(ids.begin(), ids.end(), nlohmann::json(target)));
  write(toptee, ids.dump());

  // The derived layout reads each val triplet twice (both caption orders):
  // its missing target is still one problem.
  for (const std::string layout : {"official", "derived"}) {
    auto o = options(dir.path(), layout);
    o.fashioniq_protocol = "split";
    const auto problems = validate_folder("fashioniq", o, 2);
    const auto lines = problem_lines(problems);
    const std::string text = problems.summary(100);
    EXPECT_EQ(std::set<std::string>(lines.begin(), lines.end()).size(), lines.size()) << text;
    EXPECT_EQ(problems.count(ProblemKind::unreadable_index), layout == "official" ? 1u : 0u) << text;
    if (layout == "official")
      EXPECT_NE(
          text.find(captions.string() + ":" + cut_line + ": unreadable index file: not valid JSON, column "),
          std::string::npos)
          << text;
    EXPECT_NE(text.find("split.shirt.val.json: missing index file"), std::string::npos) << text;
    EXPECT_EQ(text.find("split.shirt.val.json: bad entry"), std::string::npos)
        << "the missing split file is the problem, not each target it would list\n"
        << text;
    EXPECT_NE(text.find(image.string() + ": missing image"), std::string::npos)
        << "a missing image is named as the folder's images are (.jpg or .png)\n"
        << text;
    EXPECT_NE(text.find("target " + target + " of a val triplet is not in the val image split"),
              std::string::npos)
        << text;
  }
}

TEST_F(Exported, TheCheapCheckFindsMissingIndexFilesAndFoldersInPlainWords) {
  export_as("shoes");
  EXPECT_TRUE(check_index_files("shoes", options(dir.path())).empty());
  fs::remove(dir.path() / "train_im_names.txt");
  fs::remove_all(dir.path() / "attributedata");
  const auto problems = check_index_files("shoes", options(dir.path()));
  EXPECT_EQ(problem_lines(problems),
            (std::vector<std::string>{
                "  " + (dir.path() / "attributedata").string() + ": missing folder",
                "  " + (dir.path() / "train_im_names.txt").string() + ": missing index file"}))
      << problems.summary(10);
  // A dataset folder that is not there is that one problem, for the cheap
  // check and for the reader alike.
  const auto nowhere = options(dir.path() / "nosuch");
  EXPECT_EQ(problem_lines(check_index_files("shoes", nowhere)),
            std::vector<std::string>{"  " + (dir.path() / "nosuch").string() + ": missing folder"});
  EXPECT_EQ(problem_lines(validate_folder("fashion200k", nowhere, 1)),
            std::vector<std::string>{"  " + (dir.path() / "nosuch").string() + ": missing folder"});
}

TEST_F(Exported, CirDataValidateExitCodes) {
  const std::string bin = CIR_DATA_BIN;
  const auto root = dir.path() / "shoes";
  const auto log = dir.path() / "out.txt";
  auto run = [&](const std::string& args) {
    const int status = std::system((bin + " " + args + " > " + log.string() + " 2>&1").c_str());
    return WEXITSTATUS(status);
  };
  ASSERT_EQ(run("export --format shoes --image-size 32 --attribute-sets 12 --twins 2 --train-queries 20 "
                "--test-queries 8 " +
                root.string()),
            0)
      << read(log);
  EXPECT_EQ(run("validate " + root.string() + " --dataset shoes"), 0) << read(log);
  EXPECT_NE(read(log).find("no problems"), std::string::npos);
  fs::path image;
  for (const auto& e : fs::recursive_directory_iterator(root / "attributedata"))
    if (e.is_regular_file()) image = e.path();
  write(image, "garbage");
  EXPECT_EQ(run("validate " + root.string() + " --dataset shoes"), 1);
  EXPECT_NE(read(log).find(image.string()), std::string::npos) << read(log);
  EXPECT_NE(read(log).find("1 × unreadable image"), std::string::npos) << read(log);
  EXPECT_EQ(run("validate " + root.string() + " --dataset nosuch"), 2);
  EXPECT_EQ(run("validate"), 2);
  // stats reads the index files only.
  EXPECT_EQ(run("stats " + root.string() + " --dataset shoes --image-size 32"), 0) << read(log);
  EXPECT_NE(read(log).find("split test: gallery 24, queries 8"), std::string::npos) << read(log);
}

// `cir-data <args>`: its exit code and what it printed.
cir::testing::Shell cir_data(const std::string& args) {
  return cir::testing::shell(std::string(CIR_DATA_BIN) + " " + args + " 2>&1");
}

// A number beyond a double (nlohmann's out_of_range 406, which nothing
// caught) in every JSON index file: cir-data validate and the readers name
// the file, line and column instead of aborting.
TEST_F(Exported, ANumberBeyondADoubleInAJsonIndexFileIsAProblemNamingFileAndLine) {
  auto expect_refused = [&](const std::string& dataset, const fs::path& root, const fs::path& file,
                            const std::string& protocol = "val") {
    replace_in(file, "[", "[\n\n1e999999,\n");
    const std::string where =
        file.string() + ":3: unreadable index file: not valid JSON, column 8: the number 1e999999 is beyond";
    const auto run =
        cir_data("validate " + root.string() + " --dataset " + dataset + " --protocol " + protocol);
    EXPECT_EQ(run.code, 1) << run.out;
    EXPECT_NE(run.out.find(where), std::string::npos) << run.out;
    auto o = options(root);
    o.fashioniq_protocol = protocol;
    try {
      (void)ready_for_training(scan_dataset(dataset, o), o);
      ADD_FAILURE() << file << " was read";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(where), std::string::npos) << e.what();
      EXPECT_EQ(e.code(), ExitCode::usage);
    }
  };
  export_as("fashioniq");
  expect_refused("fashioniq", dir.path(), dir.path() / "captions" / "cap.toptee.val.json");
  expect_refused("fashioniq", dir.path(), dir.path() / "image_splits" / "split.shirt.val.json", "split");
  const auto shoes = dir.path() / "shoes";
  export_synthetic(*syn, "shoes", shoes);
  expect_refused("shoes", shoes, shoes / "relative_captions_shoes.json");
  // Fashion200k's files are text, its score column is not read as a number.
  const auto f200k = dir.path() / "f200k";
  export_synthetic(*syn, "fashion200k", f200k);
  for (const auto& e : fs::directory_iterator(f200k / "labels")) {
    auto text = read(e.path());
    const auto tab = text.find('\t');
    text.replace(tab + 1, text.find('\t', tab + 1) - tab - 1, "1e999999");
    write(e.path(), text);
  }
  const auto run = cir_data("validate " + f200k.string() + " --dataset fashion200k");
  EXPECT_EQ(run.code, 0) << run.out;
}

// Found by tests/fuzz/captions_fuzz.cpp: checking whether the image exists
// threw std::filesystem's error for a name the file system refuses, which
// nothing caught.
TEST_F(Exported, AnImageNameLongerThanTheFileSystemAllowsIsAMissingImage) {
  export_as("shoes");
  const std::string name = std::string(300, 'x') + ".jpg";
  std::ofstream(dir.path() / "eval_im_names.txt", std::ios::app) << name << "\n";
  const auto run = cir_data("validate " + dir.path().string() + " --dataset shoes");
  EXPECT_EQ(run.code, 1) << run.out;
  const std::string missing = (dir.path() / "attributedata" / name).string() + ": missing image";
  EXPECT_NE(run.out.find(missing), std::string::npos) << run.out;
  try {
    read_shoes(options(dir.path()));
    FAIL() << "read although an image is missing";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), ExitCode::usage);
  }
}

// Found by tests/fuzz/captions_fuzz.cpp: two training captions with the
// same words but other white space met as one-word neighbours, and the
// pair's text dereferenced the empty "no one-word change" (undefined
// behaviour: garbage captions or a crash).
TEST_F(Exported, Fashion200kCaptionsThatDifferOnlyInWhiteSpaceAreNotPaired) {
  export_as("fashion200k");
  fs::path labels;
  for (const auto& e : fs::directory_iterator(dir.path() / "labels"))
    if (e.path().string().ends_with("_train_detect_all.txt")) labels = e.path();
  auto text = read(labels);
  const auto first = text.substr(0, text.find('\n'));
  const auto tab = first.rfind('\t');
  const auto caption = first.substr(tab + 1);
  const auto space = caption.find(' ');
  ASSERT_NE(space, std::string::npos) << caption;
  // Another image of the same file, its caption the first one's with a second space.
  const auto second = text.substr(text.find('\n') + 1);
  write(labels, text + second.substr(0, second.find('\t')) + "\t0.5\t" + caption.substr(0, space) + "  " +
                    caption.substr(space + 1) + "\n");
  const auto ds = read_fashion200k(options(dir.path()));
  for (const auto& t : ds->training()) {
    EXPECT_TRUE(t.caption.starts_with("replace ")) << t.caption;
    EXPECT_TRUE(valid_utf8(t.caption)) << t.caption;
  }
}

TEST(Stats, ChanceLevelIsTheRecallOfARandomRanking) {
  // Gallery of 20: one query with 1 true match and its reference left out
  // (R@1 = 1/19, R@10 = 10/19), one with 2 true matches (R@1 = 2/20,
  // R@10 = 1 - C(18,10)/C(20,10) = 1 - 90/380).
  EvalSplit split;
  split.name = "test";
  for (std::int64_t i = 0; i < 20; ++i) split.gallery.push_back(i);
  split.queries.push_back({.reference = 0, .caption = "a", .true_matches = {4}, .exclude = 0});
  split.queries.push_back({.reference = 30, .caption = "b", .true_matches = {5, 6}, .exclude = -1});
  const Dataset ds("tiny", synthetic()->image_source(), {}, {split}, 32);
  const auto stats = describe_stats(ds);
  EXPECT_NE(stats.find("Recall@1/10/50 of a random ranking: 7.63 / 64.47 / 100.00"), std::string::npos)
      << stats;
}

}  // namespace
}  // namespace cir::datasets
