#include "datasets/reader_common.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/text.hpp"

namespace cir::datasets {
namespace fs = std::filesystem;
using nlohmann::json;

Listing Draft::done() {
  Listing listing;
  listing.missing.resize(paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) {
    // A name the file system refuses (longer than NAME_MAX) is missing too.
    std::error_code ec;
    if (!fs::is_regular_file(root / paths[i], ec)) {
      listing.missing[i] = true;
      problems.add(ProblemKind::missing_image, (root / paths[i]).string(), 0);
    }
  }
  listing.root = std::move(root);
  listing.paths = std::move(paths);
  listing.training = std::move(training);
  listing.splits = std::move(splits);
  listing.problems = std::move(problems);
  return listing;
}

std::string rel(const ReaderOptions& o, const fs::path& p) { return (o.root / p).string(); }

bool root_missing(const ReaderOptions& o, Problems& problems) {
  std::error_code ec;
  if (fs::is_directory(o.root, ec)) return false;
  problems.add(ProblemKind::missing_folder, o.root.string(), 0, fs::exists(o.root, ec) ? "not a folder" : "");
  return true;
}

namespace {

// `text` repaired (U+FFFD for every byte that is not UTF-8), with one
// bad_text problem per line that held such a byte when `report`.
std::string checked_utf8(const std::string& text, const std::string& file, bool report, Problems& problems) {
  if (valid_utf8(text)) return text;
  if (report) {
    int line = 1;
    int reported = 0;
    for (std::size_t i = 0; i < text.size();) {
      const std::size_t n = utf8_sequence(text, i);
      if (n == 0 && line != reported) {
        problems.add(ProblemKind::bad_text, file, line,
                     fmt::format("byte offset {} (0x{:02X}) is not part of a UTF-8 character", i,
                                 static_cast<unsigned char>(text[i])));
        reported = line;
      }
      if (text[i] == '\n') ++line;
      i += std::max<std::size_t>(n, 1);
    }
  }
  return repair_utf8(text);
}

// Why `path` cannot be opened for reading: "" when it can.
std::string unreadable(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  return {};
}

}  // namespace

bool need_file(const ReaderOptions& o, const fs::path& relative, Problems& problems) {
  const fs::path path = o.root / relative;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    problems.add(ProblemKind::missing_index, path.string(), 0);
  } else if (fs::is_directory(path, ec)) {
    problems.add(ProblemKind::unreadable_index, path.string(), 0, "a folder, not a file");
  } else if (const std::string why = unreadable(path); !why.empty()) {
    problems.add(ProblemKind::unreadable_index, path.string(), 0, why);
  } else {
    return true;
  }
  return false;
}

void need_folder(const ReaderOptions& o, const fs::path& relative, Problems& problems) {
  const fs::path path = o.root / relative;
  std::error_code ec;
  if (!fs::is_directory(path, ec))
    problems.add(ProblemKind::missing_folder, path.string(), 0, fs::exists(path, ec) ? "not a folder" : "");
}

std::optional<std::string> read_text(const ReaderOptions& o, const fs::path& relative, Problems& problems) {
  const fs::path path = o.root / relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (need_file(o, relative, problems))
      problems.add(ProblemKind::unreadable_index, path.string(), 0, "cannot be opened");
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    problems.add(ProblemKind::unreadable_index, path.string(), 0, std::strerror(errno));
    return std::nullopt;
  }
  return checked_utf8(text.str(), rel(o, relative), o.invalid_text == "error", problems);
}

std::optional<json> read_json(const ReaderOptions& o, const fs::path& relative, Problems& problems) {
  auto text = read_text(o, relative, problems);
  if (!text) return std::nullopt;
  try {
    return parse_json(*text);
  } catch (const json::parse_error& e) {
    const auto upto = std::min<std::size_t>(e.byte, text->size());
    const int line =
        1 + static_cast<int>(std::count(text->begin(), text->begin() + static_cast<long>(upto), '\n'));
    // nlohmann's text is "[json.exception.parse_error.101] parse error at
    // line L, column C: what"; the line is the problem's own. What it last
    // read may end inside a UTF-8 character (of U+FFFD, which repaired a
    // byte that was not UTF-8).
    std::string what = e.what();
    if (const auto at = what.find(", column "); at != std::string::npos) what = what.substr(at + 2);
    problems.add(ProblemKind::unreadable_index, rel(o, relative), line,
                 "not valid JSON, " + repair_utf8(what));
    return std::nullopt;
  }
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::optional<std::string> caption(const std::string& raw, const std::string& file, int line,
                                   const std::string& what, Problems& problems) {
  std::string c = trim(raw);
  if (c.empty()) {
    problems.add(ProblemKind::bad_entry, file, line, what + ": empty caption");
    return std::nullopt;
  }
  return c;
}

std::optional<std::string> string_field(const json& entry, const char* key, const std::string& file, int line,
                                        const std::string& what, Problems& problems) {
  if (!entry.is_object() || !entry.contains(key) || !entry[key].is_string()) {
    problems.add(ProblemKind::bad_entry, file, line, fmt::format("{}: no string field \"{}\"", what, key));
    return std::nullopt;
  }
  return entry[key].get<std::string>();
}

}  // namespace cir::datasets
