#include "common/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace cir {

std::size_t utf8_sequence(std::string_view s, std::size_t at) {
  const auto c = static_cast<unsigned char>(s[at]);
  if (c < 0x80) return 1;
  std::size_t extra = 0;
  std::uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    extra = 1;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    extra = 2;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    extra = 3;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (at + extra >= s.size()) return 0;
  for (std::size_t k = 1; k <= extra; ++k) {
    const auto d = static_cast<unsigned char>(s[at + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  static constexpr std::uint32_t minimum[4] = {0, 0x80, 0x800, 0x10000};
  if (cp < minimum[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return extra + 1;
}

std::size_t first_invalid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string repair_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string json_text(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string json_brief(const nlohmann::json& value) {
  if (value.is_structured() &&
      std::any_of(value.begin(), value.end(), [](const nlohmann::json& v) { return v.is_structured(); }))
    return std::string("a nested ") + value.type_name();
  constexpr std::size_t kShown = 80;
  const std::string text = json_text(value);
  return text.size() <= kShown ? text : repair_utf8(text.substr(0, kShown)) + "…";
}

namespace {

// nlohmann's own DOM builder, except for its one failure without a
// position: a number beyond a double becomes a parse_error at the number's end.
class DomBuilder : public nlohmann::detail::json_sax_dom_parser<nlohmann::json> {
 public:
  DomBuilder(nlohmann::json& out, std::string_view text) : json_sax_dom_parser(out), text_(text) {}

  template <class Exception>
  bool parse_error(std::size_t byte, const std::string& token, const Exception& e) {
    if constexpr (std::is_same_v<Exception, nlohmann::json::out_of_range>) {
      const std::string_view before = text_.substr(0, std::min(byte, text_.size()));
      const std::size_t line_start = before.rfind('\n') + 1;  // npos + 1 = 0 on the first line
      const nlohmann::detail::position_t at{
          byte, before.size() - line_start,
          static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'))};
      throw nlohmann::json::parse_error::create(
          101, at, "the number " + token + " is beyond the range of a double", nullptr);
    }
    return json_sax_dom_parser::parse_error(byte, token, e);
  }

 private:
  std::string_view text_;
};

}  // namespace

nlohmann::json parse_json(std::string_view text) {
  nlohmann::json out;
  DomBuilder builder(out, text);
  nlohmann::json::sax_parse(text, &builder);
  return out;
}

}  // namespace cir
