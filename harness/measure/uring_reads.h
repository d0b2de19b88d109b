// Reads through io_uring (liburing): one ring of a chosen queue depth and a submit/reap
// loop that keeps up to that many reads in flight, checking every completion (an error
// or a short read stops the loop and is reported). One ring per thread.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "harness/kernel/system_files.h"

namespace mapbench {

class UringReads {
 public:
  // nullptr with *error where io_uring cannot be used here: io_uring_queue_init fails
  // (kernel.io_uring_disabled, a seccomp filter or container policy: EPERM; a kernel
  // without io_uring: ENOSYS); the error names the sysctl's value when it is set.
  static std::unique_ptr<UringReads> Create(unsigned depth, const SystemFiles& system, std::string* error);
  ~UringReads();
  UringReads(const UringReads&) = delete;
  UringReads& operator=(const UringReads&) = delete;

  unsigned depth() const { return depth_; }

  // Supplies the file offset of the next block to read; false: submit no more.
  using Next = std::function<bool(uint64_t* offset)>;
  // Called once per complete read with its offset and bytes (valid until it returns).
  using Done = std::function<void(uint64_t offset, const char* data)>;

  // Reads blocks of `block` bytes of `fd` (plain IORING_OP_READ, no registered buffers or
  // files) until `next` says stop and every read in flight has completed. Read i lands in
  // one of depth() slots of `buffers` (depth() * block bytes; aligned for O_DIRECT where
  // fd has it). nullopt on success; otherwise the first failed or short completion,
  // e.g. "io_uring read(off=4096, len=4096): short read of 512 bytes".
  std::optional<std::string> Read(int fd, uint64_t block, char* buffers, const Next& next, const Done& done);

 private:
  explicit UringReads(unsigned depth) : depth_(depth) {}
  unsigned depth_;
  io_uring ring_{};
};

}  // namespace mapbench
