// pytorch_model.bin: the zip archive torch.save writes since PyTorch 1.6
// (<archive>/data.pkl holding the pickled state_dict, <archive>/data/<key>
// holding each storage). LibTorch's own unpickler reads it; it turns the
// OrderedDict into a GenericDict of tensors. The pre-1.6 legacy (non-zip)
// format is not supported.
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/import_read.h>

#include <map>

#include "gliclass/error.h"
#include "io/checkpoint.h"

namespace gliclass::io {
namespace {

class TorchBinFile final : public TensorFile {
 public:
  explicit TorchBinFile(const std::filesystem::path& file) : file_(file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) fail("no such file");
    c10::IValue root;
    try {
      caffe2::serialize::PyTorchStreamReader reader(file.string());
      if (!reader.hasRecord("data.pkl"))
        fail("the archive has no data.pkl (not written by torch.save?)");
      // Archive "data" = data.pkl; storages are read from data/<key>.
      root = torch::jit::readArchiveAndTensors("data", "", "", c10::nullopt, c10::nullopt,
                                               torch::Device(torch::kCPU), reader);
    } catch (const ModelError&) {
      throw;
    } catch (const std::exception& e) {
      fail(std::string("cannot read it as a torch.save zip archive (") + first_line(e.what()) +
           "); pre-1.6 legacy torch.save files are not supported");
    }
    if (!root.isGenericDict()) fail("the pickled object is a " + root.tagKind() + ", not a state_dict");
    for (const auto& item : root.toGenericDict()) {
      if (!item.key().isString()) fail("a state_dict key is a " + item.key().tagKind() + ", not a string");
      const std::string& name = item.key().toStringRef();
      if (!item.value().isTensor()) fail("\"" + name + "\" is a " + item.value().tagKind() + ", not a tensor");
      tensors_.emplace(name, item.value().toTensor());
    }
  }

  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    out.reserve(tensors_.size());
    for (const auto& [name, t] : tensors_) out.push_back(name);
    return out;
  }
  bool contains(const std::string& name) const override { return tensors_.count(name) > 0; }
  std::vector<int64_t> shape(const std::string& name) const override {
    return tensor(name).sizes().vec();
  }
  std::string source() const override { return file_.string(); }
  torch::ScalarType dtype(const std::string& name) const override {
    return torch::isFloatingType(tensor(name).scalar_type()) ? torch::kFloat : torch::kLong;
  }

  // Tensors may be views into a shared storage: always hand out a fresh copy.
  torch::Tensor get(const std::string& name) const override {
    const torch::Tensor& t = tensor(name);
    auto type = dtype(name);
    if (t.scalar_type() == type) return t.clone(torch::MemoryFormat::Contiguous);
    return t.to(type).contiguous();
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ModelError("torch_bin: " + file_.string() + ": " + what);
  }
  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

  const torch::Tensor& tensor(const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) fail("no tensor named \"" + name + "\"");
    return it->second;
  }

  std::filesystem::path file_;
  std::map<std::string, torch::Tensor> tensors_;
};

}  // namespace

std::unique_ptr<TensorFile> open_torch_bin(const std::filesystem::path& file) {
  return std::make_unique<TorchBinFile>(file);
}

}  // namespace gliclass::io
