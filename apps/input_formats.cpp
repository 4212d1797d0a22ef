#include "input_formats.h"

#include <fstream>
#include <sstream>

#include "gliclass/error.h"
#include "gliclass/labels.h"
#include "io/json_limits.h"
#include "serve/json_io.h"

namespace gliclass::cli {
namespace {

// Label trees are walked recursively: JSON input nests at most this deep (as
// the server's bodies).
constexpr int kMaxLabelDepth = 32;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

}  // namespace

InputFormat parse_format(const std::string& name) {
  if (name == "auto") return InputFormat::kAuto;
  if (name == "lines" || name == "txt") return InputFormat::kLines;
  if (name == "jsonl") return InputFormat::kJsonl;
  if (name == "csv") return InputFormat::kCsv;
  throw InputError("cli: unknown input format '" + name + "' (expected auto, lines, jsonl or csv)");
}

InputFormat detect_format(const std::string& path, std::istream& in) {
  if (ends_with(path, ".jsonl") || ends_with(path, ".ndjson") || ends_with(path, ".json"))
    return InputFormat::kJsonl;
  if (ends_with(path, ".csv")) return InputFormat::kCsv;
  if (path != "-") return InputFormat::kLines;
  // stdin: JSONL when the first non-blank character opens an object.
  while (in.good()) {
    int c = in.peek();
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      in.get();
      continue;
    }
    return c == '{' ? InputFormat::kJsonl : InputFormat::kLines;
  }
  return InputFormat::kLines;
}

RecordReader::RecordReader(std::istream& in, InputFormat format, std::string text_column)
    : in_(in), format_(format), text_column_(std::move(text_column)) {
  if (format_ == InputFormat::kCsv) {
    size_t line = 0;
    if (!next_csv_row(header_, line)) throw InputError("csv: the input is empty (expected a header row)");
    for (size_t i = 0; i < header_.size(); ++i) {
      const std::string name = trim(header_[i]);
      if (name == text_column_) text_index_ = static_cast<int>(i);
      if (name == "id") id_index_ = static_cast<int>(i);
      if (name == "labels") labels_index_ = static_cast<int>(i);
    }
    if (text_index_ < 0) throw InputError("csv: no column named '" + text_column_ + "' in the header");
  }
}

// RFC 4180: fields separated by commas, quoted fields may hold commas,
// newlines and doubled quotes.
bool RecordReader::next_csv_row(std::vector<std::string>& fields, size_t& line) {
  fields.clear();
  std::string field;
  bool quoted = false, any = false, was_quoted = false;
  int c;
  line = line_ + 1;
  while ((c = in_.get()) != EOF) {
    any = true;
    if (quoted) {
      if (c == '"') {
        if (in_.peek() == '"') {
          field += '"';
          in_.get();
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line_;
        field += static_cast<char>(c);
      }
    } else if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\n') {
      ++line_;
      if (!field.empty() && field.back() == '\r') field.pop_back();
      fields.push_back(std::move(field));
      return true;
    } else {
      field += static_cast<char>(c);
    }
  }
  if (!any) return false;
  ++line_;
  if (!field.empty() && field.back() == '\r') field.pop_back();
  fields.push_back(std::move(field));
  return true;
}

void RecordReader::parse_jsonl(const std::string& line, InputRecord& r) const {
  nlohmann::ordered_json j;
  try {
    j = io::parse_json_bounded<InputError, nlohmann::ordered_json>(line, "the line", kMaxLabelDepth);
  } catch (const nlohmann::ordered_json::exception& e) {  // parse_error, or out_of_range (406: a number past double)
    r.error = std::string("not valid JSON: ") + e.what();
    return;
  } catch (const InputError& e) {
    r.error = e.what();
    return;
  }
  if (!j.is_object()) {
    r.error = "expected a JSON object";
    return;
  }
  if (j.contains("id")) r.id = j["id"];
  try {
    auto text = serve::optional_string(j, "text");
    if (!text) throw InputError("missing string field 'text'");
    r.request.text = std::move(*text);
    if (j.contains("labels") && !j["labels"].is_null()) {
      r.request.labels = serve::labels_from_json(j["labels"], "labels");
      r.has_labels = true;
    }
    r.request.prompt = serve::optional_string(j, "prompt").value_or("");
    r.request.threshold = serve::optional_number(j, "threshold");
    if (j.contains("examples") && !j["examples"].is_null())
      r.request.examples = serve::examples_from_json(j["examples"], "examples");
    if (j.contains("rac_examples") && !j["rac_examples"].is_null())
      r.request.rac_examples = serve::rac_examples_from_json(j["rac_examples"], "rac_examples");
  } catch (const nlohmann::ordered_json::exception& e) {
    r.error = e.what();
  } catch (const Error& e) {
    r.error = e.what();
  }
}

bool RecordReader::next(InputRecord& r) {
  r = InputRecord{};
  if (format_ == InputFormat::kCsv) {
    std::vector<std::string> fields;
    size_t line = 0;
    while (next_csv_row(fields, line)) {
      if (fields.size() == 1 && trim(fields[0]).empty()) continue;  // blank line
      r.line = line;
      if (fields.size() != header_.size()) {
        r.error = "csv: expected " + std::to_string(header_.size()) + " fields, got " +
                  std::to_string(fields.size());
        return true;
      }
      r.request.text = fields[text_index_];
      if (id_index_ >= 0) r.id = fields[id_index_];
      if (labels_index_ >= 0 && !trim(fields[labels_index_]).empty()) {
        r.request.labels = split_labels(fields[labels_index_]);
        r.has_labels = true;
      }
      return true;
    }
    return false;
  }
  std::string line;
  while (std::getline(in_, line)) {
    ++line_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    r.line = line_;
    if (format_ == InputFormat::kJsonl)
      parse_jsonl(line, r);
    else
      r.request.text = line;
    return true;
  }
  return false;
}

std::vector<std::string> split_labels(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::vector<std::string> read_labels_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("cli: cannot open labels file '" + path + "'");
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string content = buf.str();
  const std::string head = trim(content);
  if (!head.empty() && (head[0] == '[' || head[0] == '{')) {
    try {
      return flatten_labels(io::parse_json_bounded<InputError, nlohmann::ordered_json>(
          content, "cli: labels file '" + path + "'", kMaxLabelDepth));
    } catch (const nlohmann::ordered_json::exception& e) {
      throw InputError("cli: labels file '" + path + "' is not valid JSON (" + e.what() + ")");
    }
  }
  std::vector<std::string> out;
  std::stringstream lines(content);
  std::string line;
  while (std::getline(lines, line)) {
    line = trim(line);
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace gliclass::cli
