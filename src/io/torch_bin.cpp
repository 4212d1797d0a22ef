// pytorch_model.bin: the zip archive torch.save writes since PyTorch 1.6
// (<archive>/data.pkl holding the pickled state_dict, <archive>/data/<key>
// holding each storage, <archive>/byteorder since 2.1). Our own readers
// (io/zip_archive.h, io/torch_pickle.h) validate the whole directory and
// pickle when the file is opened; tensor data is copied out of the mapping
// only when asked for. The pre-1.6 legacy (non-zip) format is not supported.
#include "io/torch_bin.h"

#include <cstring>
#include <map>

#include "gliclass/error.h"
#include "io/mapped_file.h"
#include "io/torch_pickle.h"
#include "io/zip_archive.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "torch.save data is little-endian; this reader copies bytes as they are");

namespace gliclass::io {
namespace {

class TorchBinFile final : public TensorFile {
 public:
  explicit TorchBinFile(const std::filesystem::path& file) : source_(file.string()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) fail("no such file");
    map_ = std::make_unique<MappedFile>(file, "torch_bin");
    parse(map_->data(), map_->size());
  }
  TorchBinFile(const char* data, size_t size, std::string source) : source_(std::move(source)) {
    parse(data, size);
  }

  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    out.reserve(tensors_.size());
    for (const auto& [name, t] : tensors_) out.push_back(name);
    return out;
  }
  bool contains(const std::string& name) const override { return tensors_.count(name) > 0; }
  std::vector<int64_t> shape(const std::string& name) const override { return tensor(name).sizes; }
  std::string source() const override { return source_; }
  torch::ScalarType dtype(const std::string& name) const override {
    return torch::isFloatingType(storages_[tensor(name).storage].dtype) ? torch::kFloat : torch::kLong;
  }

  // A fresh tensor every call: views of one storage never share memory.
  torch::Tensor get(const std::string& name) const override {
    const PickledTensor& t = tensor(name);
    const StorageBytes& s = storages_[t.storage];
    const auto stored = s.dtype == torch::kBool ? torch::kByte : s.dtype;  // bytes other than 0/1 stay defined
    torch::Tensor raw;
    if (is_contiguous(t)) {
      raw = torch::empty(t.sizes, torch::TensorOptions().dtype(stored));
      copy_out(s, t.offset, t.numel, raw.data_ptr());
    } else {
      // Copy the span the view covers (aligned), then gather the view from it.
      int64_t span = 1;
      for (size_t i = 0; i < t.sizes.size(); ++i) span += (t.sizes[i] - 1) * t.strides[i];  // checked when read
      auto flat = torch::empty({span}, torch::TensorOptions().dtype(stored));
      copy_out(s, t.offset, span, flat.data_ptr());
      raw = flat.as_strided(t.sizes, t.strides).contiguous();
    }
    if (s.dtype == torch::kBool) return raw.ne(0).to(torch::kLong);
    const auto type = dtype(name);
    return raw.scalar_type() == type ? raw : raw.to(type);
  }

  // Same dtype and a contiguous view: straight from the file's pages into `target`.
  void read_into(const std::string& name, torch::Tensor& target) const override {
    const PickledTensor& t = tensor(name);
    const StorageBytes& s = storages_[t.storage];
    // (Not bool: a stored byte other than 0 or 1 would be an invalid bool.)
    const bool direct = s.dtype == target.scalar_type() && s.dtype != torch::kBool && is_contiguous(t) &&
                        target.is_contiguous() && target.is_cpu() && target.numel() == t.numel;
    if (!direct) return TensorFile::read_into(name, target);
    copy_out(s, t.offset, t.numel, target.data_ptr());
    torch::autograd::impl::bump_version(target);  // as copy_ would: caches key on the version
  }

 private:
  struct StorageBytes {
    const char* data = nullptr;
    torch::ScalarType dtype = torch::kFloat;
    size_t element_size = 4;
  };

  [[noreturn]] void fail(const std::string& what) const { throw ModelError(where() + what); }
  std::string where() const { return "torch_bin: " + source_ + ": "; }

  const PickledTensor& tensor(const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) fail("no tensor named \"" + name + "\"");
    return it->second;
  }

  static bool is_contiguous(const PickledTensor& t) {
    int64_t expected = 1;
    for (size_t i = t.sizes.size(); t.numel > 0 && i-- > 0;) {
      if (t.sizes[i] != 1 && t.strides[i] != expected) return false;
      expected *= t.sizes[i];
    }
    return true;
  }

  // Elements [offset, offset + count) of a storage (inside it: checked when read).
  void copy_out(const StorageBytes& s, int64_t offset, int64_t count, void* target) const {
    if (count <= 0) return;
    const char* begin = s.data + static_cast<size_t>(offset) * s.element_size;
    const size_t bytes = static_cast<size_t>(count) * s.element_size;
    std::memcpy(target, begin, bytes);
    if (map_) map_->release(begin, begin + bytes);
  }

  void parse(const char* data, size_t size) {
    static const unsigned char kLegacyStart[] = {0x80, 0x02, 0x8a, 0x0a};  // PROTO 2, LONG1 (the magic number)
    if (size >= sizeof kLegacyStart && std::memcmp(data, kLegacyStart, sizeof kLegacyStart) == 0)
      fail(
          "a legacy (pre-1.6, non-zip) torch.save file, which is not supported (re-save it with "
          "PyTorch >= 1.6 or as safetensors)");
    const ZipArchive zip(data, size, where());
    if (zip.entries().empty()) fail("the zip archive is empty (not written by torch.save?)");
    // Every entry sits in one directory, named when saving (often "archive").
    const std::string& first = zip.entries().front().name;
    const std::string root = first.substr(0, first.find('/'));
    const ZipArchive::Entry* pickle = zip.find(root + "/data.pkl");
    if (!pickle) fail("the archive has no " + root + "/data.pkl (not written by torch.save?)");
    if (const ZipArchive::Entry* order = zip.find(root + "/byteorder")) {
      const std::string value(zip.bytes(*order).substr(0, 16));
      if (value != "little")
        fail("byteorder is \"" + value + "\" (expected \"little\": big-endian files are not supported)");
    }

    PickledStateDict dict = read_state_dict_pickle(zip.bytes(*pickle), where());
    for (const PickledStorage& s : dict.storages) {
      const std::string entry_name = root + "/data/" + s.key;
      const ZipArchive::Entry* entry = zip.find(entry_name);
      if (!entry) fail("storage \"" + s.key + "\" has no entry " + entry_name);
      uint64_t bytes = 0;
      if (__builtin_mul_overflow(s.numel, uint64_t{s.element_size}, &bytes) || bytes != entry->size)
        fail("storage \"" + s.key + "\" holds " + std::to_string(s.numel) + " " + c10::toString(s.dtype) +
             " elements but its entry " + entry_name + " has " + std::to_string(entry->size) +
             " bytes (storage size mismatch)");
      storages_.push_back({data + entry->offset, s.dtype, s.element_size});
    }
    tensors_ = std::move(dict.tensors);
    // Views may share storage (tied weights, slices), but a small file may
    // not name one storage over and over to make its readers copy gigabytes.
    uint64_t view_bytes = 0;
    for (const auto& [name, t] : tensors_) {
      const uint64_t bytes = static_cast<uint64_t>(t.numel) * storages_[t.storage].element_size;  // <= file size
      if (__builtin_add_overflow(view_bytes, bytes, &view_bytes) || view_bytes > kMaxViewExpansion * uint64_t{size})
        fail("the tensors' views add up to more than " + std::to_string(kMaxViewExpansion) + " times the file's " +
             std::to_string(size) + " bytes (one storage named again and again?)");
    }
  }

  static constexpr uint64_t kMaxViewExpansion = 16;

  std::string source_;
  std::unique_ptr<MappedFile> map_;  // null when reading bytes held by the caller
  std::vector<StorageBytes> storages_;
  std::map<std::string, PickledTensor> tensors_;
};

}  // namespace

std::unique_ptr<TensorFile> open_torch_bin(const std::filesystem::path& file) {
  return std::make_unique<TorchBinFile>(file);
}

std::unique_ptr<TensorFile> open_torch_bin_bytes(const char* data, size_t size, const std::string& source) {
  return std::make_unique<TorchBinFile>(data, size, source);
}

}  // namespace gliclass::io
