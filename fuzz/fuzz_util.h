// Helpers shared by the libFuzzer targets (docs/hardening.md).
//
// A target passes when every input either works or is refused with one of the
// library's own errors (gliclass::Error and its InputError / ModelError).
// Anything else escaping — std::out_of_range, nlohmann::json's exceptions, a
// bad_alloc — is a bug: expect_library_errors() prints it and aborts, so
// libFuzzer keeps the input as a crash.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>

#include "gliclass/error.h"

namespace gliclass::fuzz {

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void unexpected(const char* kind, const char* what) {
  std::fprintf(stderr, "fuzz: unexpected %s escaped: %s\n", kind, what);
  std::abort();
}

// Runs `f`; the library's own errors are the expected refusals.
template <class F>
void expect_library_errors(F&& f) {
  try {
    f();
  } catch (const gliclass::Error&) {
  } catch (const std::exception& e) {
    unexpected(typeid(e).name(), e.what());
  } catch (...) {
    unexpected("non-std exception", "?");
  }
}

// The input as an anonymous in-memory file, named /proc/self/fd/N, for
// readers that take a path (and map it).
class MemFile {
 public:
  explicit MemFile(std::string_view bytes) {
    fd_ = ::memfd_create("gliclass-fuzz", MFD_CLOEXEC);
    if (fd_ < 0) std::abort();
    for (size_t done = 0; done < bytes.size();) {
      ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  std::filesystem::path path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_ = -1;
};

// A scratch directory of this process (removed at exit), for loaders that
// read named files from a directory.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gliclass-fuzz-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    std::atexit([] { std::filesystem::remove_all(scratch_dir()); });
    return std::filesystem::path(tmpl);
  }();
  return dir;
}

// Writes `bytes` to `file`, replacing it.
inline void write_file(const std::filesystem::path& file, std::string_view bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) std::abort();
}

}  // namespace gliclass::fuzz
