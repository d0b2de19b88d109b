#include "harness/measure/file_content.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <vector>

#include "harness/kernel/system_files.h"
#include "harness/measure/checksum.h"

namespace mapbench {
namespace {

constexpr uint64_t kFreeMargin = 64ull << 20;  // leave the filesystem some room

// Names what a wrong word holds by trying the generations a bug would produce.
std::string DescribeWord(uint64_t word, uint64_t index, const Expected& expected) {
  if (word == 0) return "zero";
  std::vector<uint64_t> candidates = {expected.written, expected.written + 1, 0};
  if (expected.written > 0) candidates.push_back(expected.written - 1);
  if (expected.background) candidates.push_back(*expected.background);
  for (uint64_t g : candidates) {
    if (word == GenerationWord(g, index)) return "generation " + std::to_string(g);
  }
  char text[40];
  std::snprintf(text, sizeof(text), "0x%016" PRIx64, word);
  return text;
}

std::string DescribeExpected(const Expected& expected, uint64_t index) {
  if (index % expected.stride_words == 0) return "generation " + std::to_string(expected.written);
  if (!expected.background) return "zero";
  return "generation " + std::to_string(*expected.background);
}

}  // namespace

uint64_t GenerationWord(uint64_t generation, uint64_t index) {
  return ScratchWord(index ^ (generation << 40));
}

uint64_t ExpectedWord(const Expected& expected, uint64_t index) {
  if (index % expected.stride_words == 0) return GenerationWord(expected.written, index);
  return expected.background ? GenerationWord(*expected.background, index) : 0;
}

void StampWords(void* data, size_t bytes, uint64_t first_word, const Expected& expected) {
  uint64_t* words = static_cast<uint64_t*>(data);
  const uint64_t count = bytes / sizeof(uint64_t);
  const uint64_t stride = expected.stride_words;
  uint64_t i = (stride - first_word % stride) % stride;  // first written word in the region
  for (; i < count; i += stride) words[i] = GenerationWord(expected.written, first_word + i);
}

std::optional<std::string> CheckRegion(const void* data, size_t bytes, uint64_t first_word,
                                       const Expected& expected) {
  const uint64_t* words = static_cast<const uint64_t*>(data);
  const uint64_t count = bytes / sizeof(uint64_t);
  const uint64_t stride = expected.written_only ? expected.stride_words : 1;
  const uint64_t first = expected.written_only ? (stride - first_word % stride) % stride : 0;
  for (uint64_t i = first; i < count; i += stride) {
    const uint64_t index = first_word + i;
    if (words[i] == ExpectedWord(expected, index)) continue;
    return "word " + std::to_string(index) + " (byte " + std::to_string(index * 8) + ") holds " +
           DescribeWord(words[i], index, expected) + " (expected " +
           DescribeExpected(expected, index) + ")";
  }
  return std::nullopt;
}

std::optional<std::string> PwriteAll(int fd, const char* data, uint64_t bytes, uint64_t offset) {
  for (uint64_t done = 0; done < bytes;) {
    ssize_t n = pwrite(fd, data + done, bytes - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return SysError("pwrite(off=" + std::to_string(offset + done) + ")", n < 0 ? errno : ENOSPC);
    done += static_cast<uint64_t>(n);
  }
  return std::nullopt;
}

Mapping MapSharedAndTouch(int fd, uint64_t size) {
  Mapping map(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), size);
  if (!map.valid()) return map;
  const uint64_t page = PageSize();
  for (uint64_t offset = 0; offset < size; offset += page) {
    (void)*reinterpret_cast<volatile const uint64_t*>(map.data() + offset);  // volatile: not elided
  }
  return map;
}

std::optional<std::string> CheckFile(int fd, uint64_t offset, uint64_t bytes,
                                     const Expected& expected) {
  std::vector<uint64_t> buffer(std::min<uint64_t>(bytes, 1 << 20) / sizeof(uint64_t));
  for (uint64_t done = 0; done < bytes;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size() * 8, bytes - done));
    ssize_t got = pread(fd, buffer.data(), want, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return SysError("pread(fd=" + std::to_string(fd) + ")");
    if (got == 0) return "file ends at byte " + std::to_string(offset + done);
    const size_t whole = static_cast<size_t>(got) / 8 * 8;
    if (auto wrong = CheckRegion(buffer.data(), whole, (offset + done) / 8, expected)) {
      return "file " + *wrong;
    }
    if (whole == 0) return "short read at byte " + std::to_string(offset + done);
    done += whole;
  }
  return std::nullopt;
}

std::optional<GenerationFile> MakeGenerationFile(const std::string& dir, uint64_t size,
                                                 uint64_t write_chunk, std::string* error) {
  if (size == 0 || size % 8 != 0 || write_chunk == 0 || write_chunk % 8 != 0) {
    *error = "file size and write chunk must be positive multiples of 8";
    return std::nullopt;
  }
  struct statvfs vfs;
  if (statvfs(dir.c_str(), &vfs) != 0) {
    *error = SysError("statvfs(" + dir + ")");
    return std::nullopt;
  }
  const uint64_t free = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (free < size + kFreeMargin) {
    *error = "not enough disk in " + dir + ": a " + std::to_string(size >> 20) +
             " MiB file needs " + std::to_string((size + kFreeMargin) >> 20) + " MiB free, " +
             std::to_string(free >> 20) + " MiB are";
    return std::nullopt;
  }
  static std::atomic<uint64_t> serial{0};
  const std::string path =
      dir + "/generation-" + std::to_string(getpid()) + "-" + std::to_string(serial.fetch_add(1));
  GenerationFile file;
  file.size = size;
  file.fd.reset(open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!file.fd.valid()) {
    *error = SysError("open(" + path + ", O_CREAT|O_EXCL)");
    return std::nullopt;
  }
  file.check.reset(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  const int open_errno = errno;
  unlink(path.c_str());  // both descriptors keep the file alive
  if (!file.check.valid()) {
    *error = SysError("open(" + path + ", O_RDONLY)", open_errno);
    return std::nullopt;
  }
  std::vector<uint64_t> chunk(write_chunk / 8);
  for (uint64_t offset = 0; offset < size;) {
    const uint64_t n = std::min<uint64_t>(write_chunk, size - offset);
    for (uint64_t i = 0; i < n / 8; ++i) chunk[i] = GenerationWord(0, offset / 8 + i);
    ssize_t wrote = pwrite(file.fd.get(), chunk.data(), n, static_cast<off_t>(offset));
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      *error = SysError("pwrite(" + path + ")", wrote < 0 ? errno : ENOSPC);
      return std::nullopt;
    }
    offset += static_cast<uint64_t>(wrote);
  }
  if (fdatasync(file.fd.get()) != 0) {
    *error = SysError("fdatasync(" + path + ")");
    return std::nullopt;
  }
  return file;
}

}  // namespace mapbench
