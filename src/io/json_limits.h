// JSON from files and input lines, parsed with a bound on nesting.
//
// nlohmann's parser itself is iterative, but copying a value and dump()
// recurse once per level, as does code walking label trees or tokenizer
// "Sequence"s: a few hundred kilobytes of '[' would overflow the stack.
// Every file format read here nests a handful of levels.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <utility>

namespace gliclass::io {

inline constexpr int kMaxJsonDepth = 64;

// Json::parse(input), throwing `ErrorType`("<what> nests deeper than N
// levels ...") past `max_depth`; syntax errors are Json::parse_error as usual.
template <class ErrorType, class Json = nlohmann::json, class Input>
Json parse_json_bounded(Input&& input, const std::string& what, int max_depth = kMaxJsonDepth) {
  typename Json::parser_callback_t guard = [&](int depth, typename Json::parse_event_t, Json&) {
    if (depth > max_depth)
      throw ErrorType(what + " nests deeper than " + std::to_string(max_depth) + " levels (expected at most " +
                      std::to_string(max_depth) + ")");
    return true;
  };
  return Json::parse(std::forward<Input>(input), guard);
}

}  // namespace gliclass::io
