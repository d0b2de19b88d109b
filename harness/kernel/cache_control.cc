#include "harness/kernel/cache_control.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vector>

#include "harness/kernel/resources.h"

namespace mapbench {

std::optional<std::string> EvictFromCache(int fd) {
  if (fdatasync(fd) != 0) return SysError("fdatasync(fd=" + std::to_string(fd) + ")");
  int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  if (rc != 0) return SysError("posix_fadvise(fd=" + std::to_string(fd) + ", DONTNEED)", rc);
  return std::nullopt;
}

std::optional<std::string> WarmCache(int fd, uint64_t size) {
  std::vector<char> buffer(1 << 20);
  for (uint64_t offset = 0; offset < size;) {
    ssize_t got = pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return SysError("pread(fd=" + std::to_string(fd) + ")", got < 0 ? errno : EIO);
    offset += static_cast<uint64_t>(got);
  }
  return std::nullopt;
}

std::optional<double> ResidentFraction(int fd, uint64_t size, std::string* error) {
  if (size == 0) return 1.0;
  Mapping map(mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0), size);
  if (!map.valid()) {
    *error = SysError("mmap(fd=" + std::to_string(fd) + ", len=" + std::to_string(size) + ")");
    return std::nullopt;
  }
  const long page = sysconf(_SC_PAGESIZE);
  std::vector<unsigned char> residency((size + page - 1) / page);
  if (mincore(map.data(), size, residency.data()) != 0) {
    *error = SysError("mincore(len=" + std::to_string(size) + ")");
    return std::nullopt;
  }
  size_t resident = 0;
  for (unsigned char r : residency) resident += r & 1;
  return static_cast<double>(resident) / residency.size();
}

}  // namespace mapbench
