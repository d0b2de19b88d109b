#include "harness/run/scratch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <csignal>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <vector>

#include "harness/kernel/resources.h"
#include "harness/kernel/system_files.h"

namespace mapbench {
namespace {

struct linux_dirent64 {
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// The directory the signal handler empties: fixed storage, no allocation there.
constexpr int kMaxPath = 4096;
char tracked_dir[kMaxPath];

constexpr uint64_t kMargin = 64ull << 20;  // leave the filesystem some room

}  // namespace

// Scratch directories of runs that were killed (their owner process is gone): only
// ours, only the flat files we make in them.
void RemoveStaleScratch(const std::string& parent) {
  SystemFiles files;
  for (const std::string& name : files.List(parent)) {
    if (name.rfind(".mapbench-scratch-", 0) != 0) continue;
    const std::string dir = parent + "/" + name;
    struct stat st;
    if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) continue;
    auto owner = ParseUnsigned(files.ReadLine(dir + "/owner.pid").value_or(""));
    if (!owner || *owner == 0 || *owner > INT32_MAX) continue;
    if (kill(static_cast<pid_t>(*owner), 0) == 0 || errno != ESRCH) continue;  // still running
    for (const std::string& entry : files.List(dir)) unlink((dir + "/" + entry).c_str());
    if (rmdir(dir.c_str()) == 0) {
      std::fprintf(stderr, "mapbench: removed %s, left by a run that was killed\n", dir.c_str());
    }
  }
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
  RemoveStaleScratch(parent);
  {
    // Lets a later run tell whether this directory's owner is still alive.
    std::string pid = std::to_string(getpid()) + "\n";
    UniqueFd owner(open((path + "/owner.pid").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!owner.valid() || write(owner.get(), pid.data(), pid.size()) != static_cast<ssize_t>(pid.size())) {
      *error = SysError("write(" + path + "/owner.pid)");
      rmdir(path.c_str());
      return nullptr;
    }
  }
  if (path.size() < kMaxPath) std::memcpy(tracked_dir, path.c_str(), path.size() + 1);
  return std::unique_ptr<ScratchDir>(new ScratchDir(path));
}

ScratchDir::~ScratchDir() {
  // Cases run in child processes that create files this object never saw: the
  // directory is private, so everything in it goes.
  for (const std::string& name : SystemFiles().List(path_)) unlink((path_ + "/" + name).c_str());
  rmdir(path_.c_str());
  tracked_dir[0] = '\0';
}

void ScratchDir::RemoveAllFromSignalHandler() {
  if (tracked_dir[0] == '\0') return;
  // Raw getdents64/unlinkat: opendir and readdir allocate, which a handler must not.
  int dir = open(tracked_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    alignas(8) char buffer[8192];
    for (;;) {
      long got = syscall(SYS_getdents64, dir, buffer, sizeof(buffer));
      if (got <= 0) break;
      for (long offset = 0; offset < got;) {
        auto* entry = reinterpret_cast<struct linux_dirent64*>(buffer + offset);
        const char* name = entry->d_name;
        if (!(name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))) {
          unlinkat(dir, name, 0);
        }
        offset += entry->d_reclen;
      }
    }
    close(dir);
  }
  rmdir(tracked_dir);
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
  const std::string sum_path = file.path + ".sum";
  // Made by an earlier case's process: reuse it; its checksum was written beside it
  // only once the file was complete.
  if (auto sum = SystemFiles().ReadLine(sum_path)) {
    struct stat st;
    char* end = nullptr;
    file.checksum = std::strtoull(sum->c_str(), &end, 16);
    if (stat(file.path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == size &&
        end != sum->c_str()) {
      return &files_.emplace(size, file).first->second;
    }
  }
  unlink(file.path.c_str());  // a partial file from a process that died while writing
  file.checksum = 0;
  UniqueFd fd(open(file.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    *error = SysError("open(" + file.path + ", O_CREAT|O_EXCL)");
    return nullptr;
  }
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
  const std::string sum_text = ChecksumText(file.checksum) + "\n";
  const std::string sum_temporary = sum_path + ".tmp";
  UniqueFd sum_fd(open(sum_temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (sum_fd.valid() && write(sum_fd.get(), sum_text.data(), sum_text.size()) == static_cast<ssize_t>(sum_text.size()) &&
      rename(sum_temporary.c_str(), sum_path.c_str()) == 0) {
  }
  return &files_.emplace(size, file).first->second;
}

}  // namespace mapbench
