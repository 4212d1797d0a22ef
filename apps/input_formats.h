// Reading classification inputs for the CLI: plain lines, JSONL, CSV.
#pragma once
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gliclass/classifier.h"

namespace gliclass::cli {

enum class InputFormat { kAuto, kLines, kJsonl, kCsv };

InputFormat parse_format(const std::string& name);  // auto | lines | jsonl | csv
// From a file name (.jsonl/.json, .csv, else lines) or, for stdin, the first byte.
InputFormat detect_format(const std::string& path, std::istream& in);

// One input record: a request, or the reason it could not be read.
struct InputRecord {
  size_t line = 0;                  // 1-based line (CSV: record) number
  std::optional<nlohmann::ordered_json> id; // echoed in the output
  ClassifyRequest request;
  bool has_labels = false;          // the record named its own labels
  std::string error;                // non-empty: this record is bad
};

class RecordReader {
 public:
  RecordReader(std::istream& in, InputFormat format, std::string text_column);
  // Next record; false at the end of input.
  bool next(InputRecord& record);

 private:
  bool next_csv_row(std::vector<std::string>& fields, size_t& line);
  void parse_jsonl(const std::string& line, InputRecord& record) const;

  std::istream& in_;
  InputFormat format_;
  std::string text_column_;
  size_t line_ = 0;
  std::vector<std::string> header_;
  int text_index_ = -1;
  int id_index_ = -1;
  int labels_index_ = -1;
};

// Comma-separated labels ("a,b, c" -> a, b, c); empty entries dropped.
std::vector<std::string> split_labels(const std::string& list);
// A labels file: a JSON list or label tree, or one label per line.
std::vector<std::string> read_labels_file(const std::string& path);

}  // namespace gliclass::cli
