#include "harness/scratch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "harness/resources.h"

namespace mapbench {
namespace {

// Paths the signal handler may unlink: fixed storage, no allocation in the handler.
constexpr int kMaxTracked = 128;
constexpr int kMaxPath = 4096;
char tracked_paths[kMaxTracked][kMaxPath];
std::atomic<int> tracked_count{0};
char tracked_dir[kMaxPath];

void Track(const std::string& path) {
  int slot = tracked_count.load();
  if (slot >= kMaxTracked || path.size() >= kMaxPath) return;
  std::memcpy(tracked_paths[slot], path.c_str(), path.size() + 1);
  tracked_count.store(slot + 1);
}

constexpr uint64_t kMargin = 64ull << 20;  // leave the filesystem some room

}  // namespace

uint64_t ScratchWord(uint64_t index) {
  uint64_t z = index + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t SumWords(const void* data, size_t bytes) {
  const uint64_t* words = static_cast<const uint64_t*>(data);
  size_t n = bytes / sizeof(uint64_t);
  // Four independent sums let the compiler vectorize and keep loads in flight.
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += words[i];
    s1 += words[i + 1];
    s2 += words[i + 2];
    s3 += words[i + 3];
  }
  for (; i < n; ++i) s0 += words[i];
  return s0 + s1 + s2 + s3;
}

uint64_t ExpectedChecksum(uint64_t size) {
  uint64_t sum = 0;
  for (uint64_t i = 0; i < size / sizeof(uint64_t); ++i) sum += ScratchWord(i);
  return sum;
}

std::unique_ptr<ScratchDir> ScratchDir::Create(const std::string& parent, std::string* error) {
  struct stat st;
  if (stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = "scratch directory '" + parent + "' does not exist or is not a directory";
    return nullptr;
  }
  // mkdtemp makes a fresh, mode-0700 directory: never a name someone else created.
  std::string pattern = parent + "/.mapbench-scratch-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    *error = SysError("mkdtemp(" + pattern + ")") + " (is the scratch directory writable?)";
    return nullptr;
  }
  std::string path(buffer.data());
  if (path.size() < kMaxPath) std::memcpy(tracked_dir, path.c_str(), path.size() + 1);
  return std::unique_ptr<ScratchDir>(new ScratchDir(path));
}

ScratchDir::~ScratchDir() {
  for (const auto& [size, file] : files_) unlink(file.path.c_str());
  rmdir(path_.c_str());
  tracked_count.store(0);
  tracked_dir[0] = '\0';
}

void ScratchDir::RemoveAllFromSignalHandler() {
  int count = tracked_count.load();
  for (int i = 0; i < count; ++i) unlink(tracked_paths[i]);
  if (tracked_dir[0] != '\0') rmdir(tracked_dir);
}

uint64_t ScratchDir::FreeBytes() const {
  struct statvfs vfs;
  if (statvfs(path_.c_str(), &vfs) != 0) return 0;
  return static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

const ScratchFile* ScratchDir::File(uint64_t size, std::string* error) {
  if (auto found = files_.find(size); found != files_.end()) return &found->second;
  if (size == 0 || size % sizeof(uint64_t) != 0) {
    *error = "scratch file size " + std::to_string(size) + " is not a positive multiple of 8";
    return nullptr;
  }
  if (uint64_t free = FreeBytes(); free < size + kMargin) {
    *error = "not enough disk in " + path_ + ": a " + std::to_string(size >> 20) +
             " MiB file needs " + std::to_string((size + kMargin) >> 20) + " MiB free, " +
             std::to_string(free >> 20) + " MiB are";
    return nullptr;
  }
  ScratchFile file{path_ + "/file-" + std::to_string(size), size, 0};
  UniqueFd fd(open(file.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    *error = SysError("open(" + file.path + ", O_CREAT|O_EXCL)");
    return nullptr;
  }
  Track(file.path);
  constexpr size_t kChunkWords = (1 << 20) / sizeof(uint64_t);
  std::vector<uint64_t> chunk(kChunkWords);
  uint64_t words = size / sizeof(uint64_t);
  for (uint64_t first = 0; first < words; first += kChunkWords) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunkWords, words - first));
    for (size_t i = 0; i < n; ++i) chunk[i] = ScratchWord(first + i);
    file.checksum += SumWords(chunk.data(), n * sizeof(uint64_t));
    const char* p = reinterpret_cast<const char*>(chunk.data());
    size_t left = n * sizeof(uint64_t);
    while (left > 0) {
      ssize_t wrote = write(fd.get(), p, left);
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote <= 0) {
        *error = SysError("write(" + file.path + ")", wrote < 0 ? errno : ENOSPC);
        unlink(file.path.c_str());
        return nullptr;
      }
      p += wrote;
      left -= static_cast<size_t>(wrote);
    }
  }
  if (fsync(fd.get()) != 0) {
    *error = SysError("fsync(" + file.path + ")");
    unlink(file.path.c_str());
    return nullptr;
  }
  return &files_.emplace(size, file).first->second;
}

}  // namespace mapbench
