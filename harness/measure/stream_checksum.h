// Receiver-side checksums: the same sum as SumWords over the whole payload, however the
// bytes arrive (a socket or pipe hands them over in chunks of any length and alignment),
// so a receiver can prove it got exactly a scratch file's bytes or a producer's data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mapbench {

class StreamChecksum {
 public:
  // Adds the next bytes of the stream; any length, any alignment.
  void Add(const void* data, size_t size);
  // SumWords of the bytes so far, a trailing partial word counting as zero-padded.
  uint64_t sum() const;
  uint64_t bytes() const { return bytes_; }

 private:
  uint64_t sum_ = 0;
  uint64_t bytes_ = 0;
  unsigned char pending_[8] = {};
  size_t pending_size_ = 0;
};

// Reads exactly `bytes` from fd into `buffer` (reused, `buffer_size` bytes) and sums
// them; each wait for data is bounded by `timeout_ms` (-1: none). Empty string on
// success; otherwise the error, with *received saying how far it got. *closed is set
// when the peer closed before the first byte (a clean end of a serving loop).
std::string ReceiveAndSum(int fd, uint64_t bytes, char* buffer, size_t buffer_size, int timeout_ms,
                          uint64_t* sum, uint64_t* received = nullptr, bool* closed = nullptr);

}  // namespace mapbench
