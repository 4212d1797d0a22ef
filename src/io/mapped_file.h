// A read-only private memory mapping of a whole file, shared by the
// checkpoint readers (safetensors, torch_bin).
#pragma once
#include <cstddef>
#include <filesystem>
#include <string>

namespace gliclass::io {

class MappedFile {
 public:
  // Maps `file`; an open or map failure, or a path that is not a regular
  // file, is a ModelError starting with "<component>: ".
  MappedFile(const std::filesystem::path& file, const std::string& component);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const char* data() const { return data_; }
  size_t size() const { return size_; }

  // Drops the whole pages inside [begin, end) from the process's resident
  // set once their bytes are copied out (they stay in the page cache and
  // fault back in if read again), so loading never holds the weights twice.
  void release(const char* begin, const char* end) const;

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace gliclass::io
