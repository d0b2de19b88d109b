#include "harness/measure/stream_checksum.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "harness/kernel/resources.h"
#include "harness/measure/checksum.h"

namespace mapbench {
namespace {

// SumWords for data of any alignment: loads through memcpy (unaligned-safe, and the
// compiler still vectorizes); SumWords itself assumes 8-byte aligned words.
uint64_t SumUnaligned(const unsigned char* data, size_t words) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= words; i += 4) {
    uint64_t w[4];
    std::memcpy(w, data + i * 8, sizeof(w));
    s0 += w[0];
    s1 += w[1];
    s2 += w[2];
    s3 += w[3];
  }
  for (; i < words; ++i) {
    uint64_t w;
    std::memcpy(&w, data + i * 8, sizeof(w));
    s0 += w;
  }
  return s0 + s1 + s2 + s3;
}

}  // namespace

void StreamChecksum::Add(const void* data, size_t size) {
  const unsigned char* bytes = static_cast<const unsigned char*>(data);
  bytes_ += size;
  if (pending_size_ > 0) {  // complete the word split across the previous chunk
    size_t take = std::min(size, sizeof(pending_) - pending_size_);
    std::memcpy(pending_ + pending_size_, bytes, take);
    pending_size_ += take;
    bytes += take;
    size -= take;
    if (pending_size_ < sizeof(pending_)) return;
    uint64_t word;
    std::memcpy(&word, pending_, sizeof(word));
    sum_ += word;
    pending_size_ = 0;
  }
  const size_t words = size / 8;
  if (reinterpret_cast<uintptr_t>(bytes) % alignof(uint64_t) == 0) {
    sum_ += SumWords(bytes, words * 8);
  } else {
    sum_ += SumUnaligned(bytes, words);
  }
  pending_size_ = size - words * 8;
  std::memcpy(pending_, bytes + words * 8, pending_size_);
}

uint64_t StreamChecksum::sum() const {
  if (pending_size_ == 0) return sum_;
  unsigned char padded[8] = {};
  std::memcpy(padded, pending_, pending_size_);
  uint64_t word;
  std::memcpy(&word, padded, sizeof(word));
  return sum_ + word;
}

std::string ReceiveAndSum(int fd, uint64_t bytes, char* buffer, size_t buffer_size, int timeout_ms,
                          uint64_t* sum, uint64_t* received, bool* closed) {
  StreamChecksum checksum;
  if (closed != nullptr) *closed = false;
  std::string error;
  while (checksum.bytes() < bytes) {
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      error = SysError("poll");
      break;
    }
    if (ready == 0) {
      error = "no data within " + std::to_string(timeout_ms) + " ms";
      break;
    }
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer_size, bytes - checksum.bytes()));
    ssize_t got = read(fd, buffer, want);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      error = SysError("read");
      break;
    }
    if (got == 0) {
      if (checksum.bytes() == 0 && closed != nullptr) *closed = true;
      error = "peer closed after " + std::to_string(checksum.bytes()) + " of " +
              std::to_string(bytes) + " bytes";
      break;
    }
    checksum.Add(buffer, static_cast<size_t>(got));
  }
  *sum = checksum.sum();
  if (received != nullptr) *received = checksum.bytes();
  return error;
}

}  // namespace mapbench
