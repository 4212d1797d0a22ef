#include "tokenize/regex.h"

// The code unit width is set here, not in CMake, so the shared PCH stays usable.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include "gliclass/error.h"
#include "tokenize/spm_normalizer.h"  // utf8_lead_length

namespace gliclass::tokenize {

struct Regex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

Regex::Regex(std::string_view pattern, const std::string& where) : pattern_(pattern) {
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  // MATCH_INVALID_UTF: malformed input is allowed and simply never matches.
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error,
                                   &error_offset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    throw ModelError("tokenize: " + where + ": invalid regex \"" + std::string(pattern) +
                     "\" (" + reinterpret_cast<const char*>(message) + " at offset " +
                     std::to_string(error_offset) + ")");
  }
  auto holder = std::make_shared<Code>();
  holder->code = code;
  uint32_t jit = 0;
  if (pcre2_config(PCRE2_CONFIG_JIT, &jit) == 0 && jit)
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // failure leaves the interpreter in place
  code_ = std::move(holder);
}

std::vector<std::pair<size_t, size_t>> Regex::find_all(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> out;
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(code_->code, nullptr), &pcre2_match_data_free);
  if (!data) throw std::bad_alloc();
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos <= text.size()) {
    int rc = pcre2_match(code_->code, subject, text.size(), pos, 0, data.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      throw InputError("tokenize: regex \"" + pattern_ + "\" failed on the input (" +
                       reinterpret_cast<const char*>(message) + ")");
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data.get());
    size_t begin = ov[0], end = ov[1];
    out.emplace_back(begin, end);
    if (end > begin) {
      pos = end;
    } else {  // an empty match: search on from the next character
      if (begin >= text.size()) break;
      pos = begin + std::min(utf8_lead_length(text[begin]), text.size() - begin);
    }
  }
  return out;
}

std::string regex_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}-/#").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace gliclass::tokenize
