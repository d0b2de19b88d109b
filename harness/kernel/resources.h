// Move-only owners of kernel resources. They do no hidden work: the call under test
// is made raw by the workload, these only guarantee the release.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace mapbench {

// "open(path=/x): No such file or directory" from the failing call and the current errno.
inline std::string SysError(const std::string& call, int error = errno) {
  return call + ": " + std::strerror(error);
}

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

class Mapping {
 public:
  Mapping() = default;
  // Adopts the result of a raw mmap() call; MAP_FAILED is an empty Mapping.
  Mapping(void* address, size_t length)
      : address_(address == MAP_FAILED ? nullptr : address), length_(length) {}
  Mapping(Mapping&& other) noexcept
      : address_(std::exchange(other.address_, nullptr)), length_(other.length_) {}
  Mapping& operator=(Mapping&& other) noexcept {
    reset();
    address_ = std::exchange(other.address_, nullptr);
    length_ = other.length_;
    return *this;
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { reset(); }

  bool valid() const { return address_ != nullptr; }
  char* data() const { return static_cast<char*>(address_); }
  size_t size() const { return length_; }
  // Unmaps now; returns munmap's result so a workload can time it.
  int reset() {
    if (address_ == nullptr) return 0;
    return ::munmap(std::exchange(address_, nullptr), length_);
  }
  void* release() { return std::exchange(address_, nullptr); }

 private:
  void* address_ = nullptr;
  size_t length_ = 0;
};

}  // namespace mapbench
