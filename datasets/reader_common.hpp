// What the three readers of datasets/listing.hpp share (fashioniq.cpp,
// shoes.cpp, fashion200k.cpp): numbering the images a reader meets, and
// reading index files, lines, captions and JSON fields with every problem
// collected into Problems rather than thrown.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "datasets/listing.hpp"

namespace cir::datasets {

// The images a reader meets, numbered in order of first mention.
struct Draft {
  std::filesystem::path root;
  std::vector<std::string> paths;  // relative to root
  std::unordered_map<std::string, std::int64_t> number;
  std::vector<Triplet> training;
  std::vector<EvalSplit> splits;
  Problems problems;

  std::int64_t image(const std::string& relative) {
    auto [it, added] = number.emplace(relative, static_cast<std::int64_t>(paths.size()));
    if (added) paths.push_back(relative);
    return it->second;
  }

  // The listing, with a missing_image problem for every image that is not a file.
  Listing done();
};

// `p` under the dataset's root, for messages.
std::string rel(const ReaderOptions& o, const std::filesystem::path& p);

// True (and one missing-folder problem) when the dataset folder is not
// there: a reader then reports nothing else, since every file is missing.
bool root_missing(const ReaderOptions& o, Problems& problems);

// The cheap checks of check_index_files: a problem when the index file
// (folder) `relative` is not there or cannot be opened (need_file: false
// then).
bool need_file(const ReaderOptions& o, const std::filesystem::path& relative, Problems& problems);
void need_folder(const ReaderOptions& o, const std::filesystem::path& relative, Problems& problems);

// list_dataset and check_index_files of each reader.
Listing list_fashioniq(const ReaderOptions& o);
Listing list_shoes(const ReaderOptions& o);
Listing list_fashion200k(const ReaderOptions& o);
Problems check_fashioniq_files(const ReaderOptions& o);
Problems check_shoes_files(const ReaderOptions& o);
Problems check_fashion200k_files(const ReaderOptions& o);

// The text of an index file, or nothing (and a problem) when it is absent.
// Bytes that are not UTF-8 come back as U+FFFD, so that nothing downstream
// meets them; under data.invalid_text = "error" each line holding one is
// also a bad_text problem naming the line and the byte's offset in the file.
std::optional<std::string> read_text(const ReaderOptions& o, const std::filesystem::path& relative,
                                     Problems& problems);
// An index file parsed as JSON, or nothing (and a problem) when it is absent or not JSON.
std::optional<nlohmann::json> read_json(const ReaderOptions& o, const std::filesystem::path& relative,
                                        Problems& problems);

// The lines of a text, without their line ends ("\n" or "\r\n").
std::vector<std::string> lines_of(const std::string& text);

std::string trim(std::string_view s);

// A caption checked for emptiness; nothing (and a problem) if empty.
std::optional<std::string> caption(const std::string& raw, const std::string& file, int line,
                                   const std::string& what, Problems& problems);

// The string field `key` of a JSON entry; nothing (and a problem) if it has none.
std::optional<std::string> string_field(const nlohmann::json& entry, const char* key, const std::string& file,
                                        int line, const std::string& what, Problems& problems);

}  // namespace cir::datasets
