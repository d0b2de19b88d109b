#include "harness/kernel/direct_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

#include "harness/kernel/writeback.h"

namespace mapbench {

std::optional<uint64_t> ParseBlockSize(const std::string& text) {
  auto value = ParseUnsigned(Trim(text));
  if (!value || *value < 512 || (*value & (*value - 1)) != 0) return std::nullopt;
  return value;
}

std::optional<DirectAlignment> BlockDeviceAlignment(uint64_t major, uint64_t minor, const SystemFiles& system) {
  const std::string dev = "/sys/dev/block/" + std::to_string(major) + ":" + std::to_string(minor);
  for (const std::string& path : {dev + "/queue/logical_block_size", dev + "/../queue/logical_block_size"}) {
    if (auto size = ParseBlockSize(system.Read(path).value_or(""))) {
      DirectAlignment out;
      out.memory = out.offset = *size;
      out.source = path;
      return out;
    }
  }
  return std::nullopt;
}

DirectAlignment ProbeDirectAlignment(int fd, const SystemFiles& system, bool* unsupported) {
  if (unsupported != nullptr) *unsupported = false;
  DirectAlignment out;
#ifdef STATX_DIOALIGN
  struct statx sx = {};
  if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN) != 0) {
    if (sx.stx_dio_mem_align != 0 && sx.stx_dio_offset_align != 0) {
      out.memory = sx.stx_dio_mem_align;
      out.offset = sx.stx_dio_offset_align;
      out.source = "statx STATX_DIOALIGN";
      return out;
    }
    if (unsupported != nullptr) *unsupported = true;  // reported, and zero: no direct I/O
  }
#endif
  struct stat st;
  if (fstat(fd, &st) == 0 && major(st.st_dev) != 0) {
    if (auto device = BlockDeviceAlignment(major(st.st_dev), minor(st.st_dev), system)) return *device;
  }
  out.source = "default 4096";
  return out;
}

AlignedBuffer::AlignedBuffer(size_t bytes, size_t alignment) {
  void* p = nullptr;
  // posix_memalign's own rule, checked first: sanitizers abort on a bad alignment instead of returning EINVAL.
  const bool power_of_two = alignment >= sizeof(void*) && (alignment & (alignment - 1)) == 0;
  if (bytes > 0 && power_of_two && posix_memalign(&p, alignment, bytes) == 0) {
    data_ = static_cast<char*>(p);
    size_ = bytes;
  }
}

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

std::optional<DirectFile> OpenDirectFile(const std::string& path, const SystemFiles& system, uint64_t block,
                                         std::string* why) {
  DirectFile out;
  out.fd = UniqueFd(open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC));
  if (!out.fd.valid()) {
    *why = SysError("open(" + path + ", O_DIRECT)") + (errno == EINVAL ? " (the filesystem refuses O_DIRECT)" : "");
    return std::nullopt;
  }
  if (auto in_memory = InMemoryFilesystem(out.fd.get())) {
    *why = "O_DIRECT accepted, but " + *in_memory;
    return std::nullopt;
  }
  bool unsupported = false;
  out.alignment = ProbeDirectAlignment(out.fd.get(), system, &unsupported);
  if (unsupported) {
    *why = "statx(" + path + ", STATX_DIOALIGN): the file supports no direct I/O";
    return std::nullopt;
  }
  if (block != 0 && block % out.alignment.offset != 0) {
    *why = "block of " + std::to_string(block) + " bytes is not a multiple of the O_DIRECT alignment " +
           std::to_string(out.alignment.offset) + " (" + out.alignment.source + ")";
    return std::nullopt;
  }
  return out;
}

}  // namespace mapbench
