// A validating reader of zip archives held in memory (a mapped file), for
// the torch.save format: only stored (uncompressed) entries, zip64 records
// understood, every size and offset checked against the buffer before use.
//
// Layout read (PKWARE APPNOTE 6.3): the end-of-central-directory record at
// the end (after it only its comment), optionally preceded by a zip64
// locator pointing at the zip64 end-of-central-directory record; the central
// directory lists each entry's name, sizes and local header offset; the
// local header (30 bytes + name + extra) precedes the entry's data.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gliclass::io {

class ZipArchive {
 public:
  struct Entry {
    std::string name;
    uint64_t offset = 0;  // of the data, from the start of the buffer
    uint64_t size = 0;    // bytes (stored: compressed size == size)
  };

  // Most entries an archive may list (a state_dict of 100k tensors has
  // about that many storages).
  static constexpr uint64_t kMaxEntries = uint64_t{1} << 20;

  // Parses the directory of the `size` bytes at `data`, which must outlive
  // this object. Errors are ModelErrors whose message starts with `where`
  // (e.g. "torch_bin: /path/file.bin: ").
  ZipArchive(const char* data, size_t size, std::string where);

  const std::vector<Entry>& entries() const { return entries_; }
  // The entry named `name`, or nullptr.
  const Entry* find(const std::string& name) const;
  // The entry's bytes, inside the buffer.
  std::string_view bytes(const Entry& entry) const {
    return {data_ + entry.offset, static_cast<size_t>(entry.size)};
  }

 private:
  [[noreturn]] void fail(const std::string& what) const;
  void read_directory(uint64_t cd_offset, uint64_t cd_size, uint64_t count);
  uint64_t data_offset(const std::string& name, uint64_t local_offset, uint64_t size) const;

  const char* data_;
  size_t size_;
  std::string where_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace gliclass::io
