// safetensors reader (memory-mapped, validated up front) and writer.
#include "io/safetensors.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "gliclass/error.h"
#include "io/checkpoint.h"
#include "io/json_limits.h"
#include "io/mapped_file.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; this reader copies bytes as they are");

namespace gliclass::io {
namespace {

// The reference implementation's bound on the JSON header (100 MB).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeInfo {
  const char* name;
  torch::ScalarType stored;  // how the bytes are laid out
  size_t size;               // bytes per element
};

// Every dtype this reader accepts; see safetensors.h for what get() returns.
constexpr DtypeInfo kDtypes[] = {
    {"F64", torch::kDouble, 8}, {"F32", torch::kFloat, 4}, {"F16", torch::kHalf, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kLong, 8}, {"I32", torch::kInt, 4},
    {"I16", torch::kShort, 2}, {"I8", torch::kChar, 1}, {"U8", torch::kByte, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeInfo* find_dtype(torch::ScalarType type) {
  for (const auto& d : kDtypes)
    if (type == d.stored) return &d;
  return nullptr;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

struct Entry {
  const DtypeInfo* dtype = nullptr;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // relative to the data section
};

class SafetensorsFile final : public TensorFile {
 public:
  explicit SafetensorsFile(const std::filesystem::path& file) : file_(file), map_(file, "safetensors") {
    parse();
  }

  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& [name, e] : entries_) out.push_back(name);
    return out;
  }
  bool contains(const std::string& name) const override { return entries_.count(name) > 0; }
  std::vector<int64_t> shape(const std::string& name) const override { return entry(name).shape; }
  std::string source() const override { return file_.string(); }
  torch::ScalarType dtype(const std::string& name) const override {
    return torch::isFloatingType(entry(name).dtype->stored) ? torch::kFloat : torch::kLong;
  }

  void read_into(const std::string& name, torch::Tensor& target) const override {
    const Entry& e = entry(name);
    const bool direct = e.dtype->stored == target.scalar_type() && target.is_contiguous() && target.is_cpu() &&
                        static_cast<size_t>(target.nbytes()) == e.end - e.begin;
    if (!direct) return TensorFile::read_into(name, target);
    if (e.end > e.begin) {
      std::memcpy(target.data_ptr(), data_ + e.begin, e.end - e.begin);
      map_.release(data_ + e.begin, data_ + e.end);
    }
    torch::autograd::impl::bump_version(target);  // as copy_ would: caches key on the version
  }

  torch::Tensor get(const std::string& name) const override {
    const Entry& e = entry(name);
    // Copy out of the mapping first: the data section need not be aligned.
    auto raw = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->stored == torch::kBool
                                                                      ? torch::kByte
                                                                      : e.dtype->stored));
    if (e.end > e.begin) {
      std::memcpy(raw.data_ptr(), data_ + e.begin, e.end - e.begin);
      map_.release(data_ + e.begin, data_ + e.end);
    }
    if (e.dtype->stored == torch::kBool) return raw.ne(0).to(torch::kLong);
    if (torch::isFloatingType(e.dtype->stored))
      return e.dtype->stored == torch::kFloat ? raw : raw.to(torch::kFloat);
    return e.dtype->stored == torch::kLong ? raw : raw.to(torch::kLong);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ModelError("safetensors: " + file_.string() + ": " + what);
  }

  const Entry& entry(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) fail("no tensor named \"" + name + "\"");
    return it->second;
  }

  void parse() {
    const size_t file_size = map_.size();
    if (file_size < 8)
      fail("file is " + std::to_string(file_size) + " bytes, too small for the 8-byte header length");
    uint64_t header_len = 0;
    std::memcpy(&header_len, map_.data(), 8);  // little-endian u64
    // The JSON is parsed into a tree several times its size: bound it first,
    // as the reference implementation does.
    if (header_len > kMaxHeaderBytes)
      fail("header length " + std::to_string(header_len) + " is more than the limit of " +
           std::to_string(kMaxHeaderBytes) + " bytes");
    if (header_len > file_size - 8)
      fail("header length " + std::to_string(header_len) + " exceeds file size " +
           std::to_string(file_size));
    data_ = map_.data() + 8 + header_len;
    const uint64_t data_size = file_size - 8 - header_len;

    nlohmann::json header;
    try {
      header = parse_json_bounded<ModelError>(std::string_view(map_.data() + 8, header_len),
                                              "safetensors: " + file_.string() + ": header");
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("header is not valid JSON (") + e.what() + ")");
    }
    if (!header.is_object()) fail("header is not a JSON object");

    for (const auto& [name, value] : header.items()) {
      if (name == "__metadata__") continue;
      entries_.emplace(name, parse_entry(name, value, data_size));
    }
    check_overlaps();
  }

  Entry parse_entry(const std::string& name, const nlohmann::json& value, uint64_t data_size) const {
    const std::string where = "tensor \"" + name + "\": ";
    if (!value.is_object()) fail(where + "header entry is not an object");
    Entry e;

    auto dtype = value.find("dtype");
    if (dtype == value.end() || !dtype->is_string()) fail(where + "missing \"dtype\"");
    e.dtype = find_dtype(dtype->get<std::string>());
    if (!e.dtype) {
      std::string known;
      for (const auto& d : kDtypes) known += std::string(known.empty() ? "" : ", ") + d.name;
      fail(where + "unknown dtype \"" + dtype->get<std::string>() + "\" (expected one of " +
           known + ")");
    }

    auto shape = value.find("shape");
    if (shape == value.end() || !shape->is_array()) fail(where + "missing \"shape\" array");
    for (const auto& d : *shape) {
      if (d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0)
        fail(where + "negative dimension " + d.dump() + " in shape " + shape->dump());
      if (!d.is_number_unsigned() ||
          d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(where + "shape " + shape->dump() + " is not a list of non-negative integers");
      e.shape.push_back(static_cast<int64_t>(d.get<uint64_t>()));
    }

    auto offsets = value.find("data_offsets");
    if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2 ||
        !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned())
      fail(where + "\"data_offsets\" is not a pair of non-negative integers");
    e.begin = (*offsets)[0].get<uint64_t>();
    e.end = (*offsets)[1].get<uint64_t>();
    if (e.begin > e.end)
      fail(where + "data_offsets " + offsets->dump() + " are out of order (begin > end)");
    if (e.end > data_size)
      fail(where + "data_offsets " + offsets->dump() + " out of range: the data section has " +
           std::to_string(data_size) + " bytes (file truncated?)");

    // numel * dtype size, refusing overflow (a zero dimension makes it 0).
    const uint64_t limit = std::numeric_limits<uint64_t>::max() / 8;
    uint64_t numel = 1;
    bool zero = std::any_of(e.shape.begin(), e.shape.end(), [](int64_t d) { return d == 0; });
    if (zero) numel = 0;
    for (size_t i = 0; !zero && i < e.shape.size(); ++i) {
      auto d = static_cast<uint64_t>(e.shape[i]);
      if (numel > limit / d) fail(where + "shape " + shape_str(e.shape) + " is too large");
      numel *= d;
    }
    const uint64_t bytes = numel * e.dtype->size;
    if (bytes != e.end - e.begin)
      fail(where + "shape " + shape_str(e.shape) + " of " + e.dtype->name + " needs " +
           std::to_string(bytes) + " bytes but data_offsets " + offsets->dump() + " span " +
           std::to_string(e.end - e.begin) + " (length mismatch)");
    return e;
  }

  // Tensors may not share bytes.
  void check_overlaps() const {
    std::vector<std::pair<const std::string*, const Entry*>> order;
    for (const auto& [name, e] : entries_)
      if (e.end > e.begin) order.emplace_back(&name, &e);
    std::sort(order.begin(), order.end(),
              [](const auto& a, const auto& b) { return a.second->begin < b.second->begin; });
    for (size_t i = 1; i < order.size(); ++i)
      if (order[i].second->begin < order[i - 1].second->end)
        fail("tensors \"" + *order[i - 1].first + "\" and \"" + *order[i].first +
             "\" have overlapping data_offsets");
  }

  std::filesystem::path file_;
  MappedFile map_;
  const char* data_ = nullptr;
  std::map<std::string, Entry> entries_;
};

}  // namespace

std::unique_ptr<TensorFile> open_safetensors(const std::filesystem::path& file) {
  return std::make_unique<SafetensorsFile>(file);
}

void save_safetensors(const std::filesystem::path& file,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;

  std::vector<torch::Tensor> data;
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__" || !seen.insert(name).second)
      throw InputError("safetensors: cannot save " + file.string() + ": duplicate or reserved name \"" +
                       name + "\"");
    const DtypeInfo* dtype = find_dtype(tensor.scalar_type());
    if (!dtype)
      throw InputError("safetensors: cannot save \"" + name + "\": unsupported dtype " +
                       std::string(c10::toString(tensor.scalar_type())));
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * dtype->size;
    header[name] = {{"dtype", dtype->name},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(t);
  }

  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // pad so the data section is 8-aligned
  const uint64_t header_len = text.size();

  const std::filesystem::path tmp = file.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("safetensors: cannot write " + tmp.string() + ": " + std::strerror(errno));
    out.write(reinterpret_cast<const char*>(&header_len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : data)
      out.write(static_cast<const char*>(t.data_ptr()),
                static_cast<std::streamsize>(t.numel() * t.element_size()));
    out.flush();
    if (!out) {
      std::filesystem::remove(tmp);
      throw Error("safetensors: writing " + tmp.string() + " failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw Error("safetensors: cannot move " + tmp.string() + " to " + file.string() + ": " +
                ec.message());
  }
}

}  // namespace gliclass::io
