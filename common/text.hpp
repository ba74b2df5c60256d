// Text that comes from outside (dataset files, the environment, the command
// line, file names): UTF-8 checks and repair, JSON text that never throws
// on bytes that are not UTF-8, and JSON parsing whose every failure is a
// parse_error. nlohmann's dump() throws type_error 316 on such a string;
// every message or record that may carry outside text is written with
// json_text instead. Its parse() throws out_of_range 406 for a number beyond
// a double; every file that comes from outside is parsed with parse_json.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace cir {

// The length (1 to 4) of the well-formed UTF-8 sequence that starts at
// text[at], or 0 when the bytes there are not one (a stray continuation
// byte, a truncated or overlong sequence, a surrogate, a code point above
// U+10FFFF).
std::size_t utf8_sequence(std::string_view text, std::size_t at);

// The offset of the first byte of `text` that is not UTF-8, or npos.
std::size_t first_invalid_utf8(std::string_view text);

inline bool valid_utf8(std::string_view text) { return first_invalid_utf8(text) == std::string_view::npos; }

// `text` with every byte that is not part of a well-formed sequence replaced
// by U+FFFD (the replacement character, as nlohmann's error_handler_t::replace
// writes it).
std::string repair_utf8(std::string_view text);

// The JSON text of `value` (compact, or indented by `indent`); strings that
// are not UTF-8 are written with U+FFFD instead of throwing.
std::string json_text(const nlohmann::json& value, int indent = -1);

// `value` as JSON text for a message about a file from outside: cut to
// about 80 characters, and only its type ("a nested array") when it holds
// arrays or objects: nlohmann's dump recurses once a level, and a file may
// nest a value millions of levels deep.
std::string json_brief(const nlohmann::json& value);

// `text` parsed as JSON, as nlohmann::json::parse does, except that a number
// beyond a double (1e999999) throws parse_error, naming the line and column
// where the number ends, like every other fault of the text, instead of
// out_of_range 406: that one carries no position, and a caller that catches
// parse_error lets it through (it aborted the workers and cir-data validate).
nlohmann::json parse_json(std::string_view text);

}  // namespace cir
