#include "io/zip_archive.h"

#include <cstring>

#include "gliclass/error.h"

namespace gliclass::io {
namespace {

// Little-endian fields; callers have checked that [p, p + N) is inside the buffer.
uint16_t zip_u16(const char* p) {
  unsigned char b[2];
  std::memcpy(b, p, 2);
  return static_cast<uint16_t>(b[0] | (b[1] << 8));
}
uint32_t zip_u32(const char* p) { return zip_u16(p) | (static_cast<uint32_t>(zip_u16(p + 2)) << 16); }
uint64_t zip_u64(const char* p) { return zip_u32(p) | (static_cast<uint64_t>(zip_u32(p + 4)) << 32); }

constexpr uint32_t kEndSignature = 0x06054b50;       // "PK\5\6"
constexpr uint32_t kZip64EndSignature = 0x06064b50;  // "PK\6\6"
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint32_t kCentralSignature = 0x02014b50;  // "PK\1\2"
constexpr uint32_t kLocalSignature = 0x04034b50;    // "PK\3\4"
constexpr size_t kEndSize = 22, kZip64EndSize = 56, kZip64LocatorSize = 20;
constexpr size_t kCentralSize = 46, kLocalSize = 30;
constexpr uint32_t kMax32 = 0xffffffff;

// True when [offset, offset + length) lies inside [0, limit).
bool zip_span_fits(uint64_t offset, uint64_t length, uint64_t limit) {
  return offset <= limit && length <= limit - offset;
}

}  // namespace

ZipArchive::ZipArchive(const char* data, size_t size, std::string where)
    : data_(data), size_(size), where_(std::move(where)) {
  if (size_ < kEndSize)
    fail("not a zip archive (" + std::to_string(size_) +
         " bytes, shorter than an end-of-central-directory record)");
  // The end record is the last thing but its comment (at most 65535 bytes).
  size_t end = size_;
  const size_t lowest = size_ - kEndSize > 0xffff ? size_ - kEndSize - 0xffff : 0;
  for (size_t pos = size_ - kEndSize + 1; pos-- > lowest;) {
    if (zip_u32(data_ + pos) == kEndSignature && zip_u16(data_ + pos + 20) <= size_ - pos - kEndSize) {
      end = pos;
      break;
    }
  }
  if (end == size_) fail("not a zip archive (no end-of-central-directory record)");
  const char* e = data_ + end;
  uint64_t disk = zip_u16(e + 4), cd_disk = zip_u16(e + 6), disk_count = zip_u16(e + 8);
  uint64_t count = zip_u16(e + 10), cd_size = zip_u32(e + 12), cd_offset = zip_u32(e + 16);
  uint64_t cd_limit = end;  // the directory ends before the record(s) describing it

  if (end >= kZip64LocatorSize && zip_u32(e - kZip64LocatorSize) == kZip64LocatorSignature) {
    const char* loc = e - kZip64LocatorSize;
    const uint64_t record = zip_u64(loc + 8);
    if (zip_u32(loc + 4) != 0 || zip_u32(loc + 16) > 1) fail("multi-disk zip archives are not supported");
    if (!zip_span_fits(record, kZip64EndSize, end - kZip64LocatorSize))
      fail("zip64 end-of-central-directory offset " + std::to_string(record) + " is outside the file");
    const char* r = data_ + record;
    if (zip_u32(r) != kZip64EndSignature) fail("no zip64 end-of-central-directory record where the locator points");
    disk = zip_u32(r + 16);
    cd_disk = zip_u32(r + 20);
    disk_count = zip_u64(r + 24);
    count = zip_u64(r + 32);
    cd_size = zip_u64(r + 40);
    cd_offset = zip_u64(r + 48);
    cd_limit = record;
  }
  if (disk != 0 || cd_disk != 0 || disk_count != count) fail("multi-disk zip archives are not supported");
  if (!zip_span_fits(cd_offset, cd_size, cd_limit))
    fail("central directory (offset " + std::to_string(cd_offset) + ", " + std::to_string(cd_size) +
         " bytes) lies outside the file's " + std::to_string(cd_limit) +
         " bytes before its end record (truncated?)");
  if (count > kMaxEntries)
    fail("too many entries (expected at most " + std::to_string(kMaxEntries) + ", got " + std::to_string(count) +
         ")");
  if (count > cd_size / kCentralSize)
    fail("central directory of " + std::to_string(cd_size) + " bytes cannot hold " + std::to_string(count) +
         " entries");
  read_directory(cd_offset, cd_size, count);
}

void ZipArchive::read_directory(uint64_t cd_offset, uint64_t cd_size, uint64_t count) {
  entries_.reserve(count);
  const uint64_t cd_end = cd_offset + cd_size;
  uint64_t pos = cd_offset;
  for (uint64_t i = 0; i < count; ++i) {
    if (!zip_span_fits(pos, kCentralSize, cd_end))
      fail("central directory entry " + std::to_string(i) + " runs past the directory's end");
    const char* h = data_ + pos;
    if (zip_u32(h) != kCentralSignature)
      fail("central directory entry " + std::to_string(i) + " has a bad signature");
    const uint16_t flags = zip_u16(h + 8), method = zip_u16(h + 10);
    uint64_t packed = zip_u32(h + 20), size = zip_u32(h + 24);
    const uint64_t name_len = zip_u16(h + 28), extra_len = zip_u16(h + 30), comment_len = zip_u16(h + 32);
    uint64_t disk = zip_u16(h + 34), local = zip_u32(h + 42);
    if (!zip_span_fits(pos + kCentralSize, name_len + extra_len + comment_len, cd_end))
      fail("central directory entry " + std::to_string(i) + " runs past the directory's end");
    std::string name(h + kCentralSize, name_len);
    if (name.empty()) fail("central directory entry " + std::to_string(i) + " has an empty name");

    // The zip64 extra field (id 1) holds, in order, whichever of these were 0xffffffff.
    const char* extra = h + kCentralSize + name_len;
    for (uint64_t at = 0; at + 4 <= extra_len;) {
      const uint16_t id = zip_u16(extra + at), len = zip_u16(extra + at + 2);
      if (len > extra_len - at - 4) fail("entry \"" + name + "\": extra field runs past its end");
      if (id == 1) {
        const char* f = extra + at + 4;
        uint64_t left = len;
        auto take = [&](uint64_t& value, size_t width) {
          if (left < width) fail("entry \"" + name + "\": zip64 extra field is too short");
          value = width == 8 ? zip_u64(f) : zip_u32(f);
          f += width;
          left -= width;
        };
        if (size == kMax32) take(size, 8);
        if (packed == kMax32) take(packed, 8);
        if (local == kMax32) take(local, 8);
        if (disk == 0xffff) take(disk, 4);
      }
      at += 4 + uint64_t{len};
    }
    if (flags & 1) fail("entry \"" + name + "\" is encrypted");
    if (method != 0)
      fail("entry \"" + name + "\" is compressed (method " + std::to_string(method) +
           "); only stored entries are supported (torch.save does not compress)");
    if (packed != size)
      fail("entry \"" + name + "\" is stored but its sizes differ (compressed " + std::to_string(packed) +
           ", uncompressed " + std::to_string(size) + ")");
    if (disk != 0) fail("multi-disk zip archives are not supported");
    if (!by_name_.emplace(name, entries_.size()).second) fail("entry \"" + name + "\" appears twice");
    const uint64_t offset = data_offset(name, local, size);
    entries_.push_back({std::move(name), offset, size});
    pos += kCentralSize + name_len + extra_len + comment_len;
  }
}

uint64_t ZipArchive::data_offset(const std::string& name, uint64_t local, uint64_t size) const {
  if (!zip_span_fits(local, kLocalSize, size_))
    fail("entry \"" + name + "\": local header offset " + std::to_string(local) + " is outside the file");
  const char* h = data_ + local;
  if (zip_u32(h) != kLocalSignature) fail("entry \"" + name + "\": bad local header signature");
  const uint64_t name_len = zip_u16(h + 26), extra_len = zip_u16(h + 28);
  const uint64_t begin = local + kLocalSize + name_len + extra_len;  // < 2^64: local < size_
  if (begin > size_) fail("entry \"" + name + "\": local header runs past the end of the file (truncated?)");
  if (name_len != name.size() || std::memcmp(h + kLocalSize, name.data(), name.size()) != 0)
    fail("entry \"" + name + "\": the local header names another file");
  if (!zip_span_fits(begin, size, size_))
    fail("entry \"" + name + "\": " + std::to_string(size) + " bytes at offset " + std::to_string(begin) +
         " run past the end of the file's " + std::to_string(size_) + " bytes (truncated?)");
  return begin;
}

const ZipArchive::Entry* ZipArchive::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

void ZipArchive::fail(const std::string& what) const { throw ModelError(where_ + what); }

}  // namespace gliclass::io
