// Reading with O_DIRECT: the alignment a file's device asks for, buffers aligned to it, and
// opening a file for direct reads only where the bytes really come from a device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "harness/kernel/resources.h"
#include "harness/kernel/system_files.h"

namespace mapbench {

// What O_DIRECT asks of a file's reads: buffer address alignment (`memory`) and file
// offset and length alignment (`offset`), and where the numbers came from.
struct DirectAlignment {
  uint64_t memory = 4096;
  uint64_t offset = 4096;
  std::string source;  // "statx STATX_DIOALIGN", "/sys/dev/block/254:0/queue/logical_block_size", "default 4096"
};

// The alignment for O_DIRECT reads of `fd`: statx(STATX_DIOALIGN) where the kernel
// (6.1+) and filesystem report it, else the logical block size of the file's block device
// (/sys/dev/block/MAJ:MIN/queue, or the parent disk's for a partition), else 4096.
// *unsupported (if given) is set when statx says the file supports no direct I/O at all.
DirectAlignment ProbeDirectAlignment(int fd, const SystemFiles& system, bool* unsupported = nullptr);

// The logical block size of block device MAJ:MIN from /sys/dev/block/MAJ:MIN/queue (or
// the parent disk's queue, for a partition) as an alignment; nullopt where unreadable.
std::optional<DirectAlignment> BlockDeviceAlignment(uint64_t major, uint64_t minor, const SystemFiles& system);

// Parses a logical_block_size text ("512\n"): a power of two of at least 512, else nullopt.
std::optional<uint64_t> ParseBlockSize(const std::string& text);

// A heap buffer whose address is a multiple of `alignment` (a power of two), freed on
// destruction. Empty (valid() false) when the allocation fails.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(size_t bytes, size_t alignment);
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer();

  bool valid() const { return data_ != nullptr; }
  char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
};

// A file opened read-only with O_DIRECT, with the alignment its reads need.
struct DirectFile {
  UniqueFd fd;
  DirectAlignment alignment;
};

// Opens `path` with O_RDONLY | O_DIRECT. nullopt with *why where direct reads cannot be
// measured here: the filesystem refuses O_DIRECT (EINVAL at open, e.g. tmpfs before 6.6),
// statx reports no direct I/O support, or the file lives in memory (tmpfs and ramfs accept
// O_DIRECT on newer kernels, but no device is read); or the open fails otherwise.
// `block` (if nonzero) must be a multiple of the offset alignment, else nullopt with why.
std::optional<DirectFile> OpenDirectFile(const std::string& path, const SystemFiles& system, uint64_t block,
                                         std::string* why);

}  // namespace mapbench
