// A perf_event_open for tests whose groups can be read: each group leader is a memfd
// holding the {nr, time_enabled, time_running, value[nr]} words a real group read
// returns, rewritten as members join. Refuses like a machine would: hardware events
// with an errno, and kernel-mode counting with EACCES (perf_event_paranoid >= 2).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

#include "harness/measure/counters.h"

namespace mapbench {

struct GroupReadPerf {
  int hardware_errno = 0;      // 0: hardware events open
  bool refuse_kernel = false;  // EACCES unless exclude_kernel
  uint64_t value = 100;        // every member's raw count
  // time_enabled and time_running of the n-th group leader opened (0-based, probes too).
  std::function<std::pair<uint64_t, uint64_t>(int)> times = [](int) {
    return std::pair<uint64_t, uint64_t>{1000, 1000};
  };
  std::vector<perf_event_attr> opened;  // every attr that opened, in order

  PerfOpenFn Opener() {
    return [this](perf_event_attr* attr, pid_t, int, int group_fd, unsigned long) -> int {
      std::lock_guard<std::mutex> lock(mutex_);
      // In the kernel's order: the permission check comes before the PMU lookup.
      const bool hardware = attr->type != PERF_TYPE_SOFTWARE;
      int fail = refuse_kernel && !attr->exclude_kernel ? EACCES : 0;
      if (fail == 0 && hardware) fail = hardware_errno;
      if (fail != 0) {
        errno = fail;
        return -1;
      }
      opened.push_back(*attr);
      if (group_fd >= 0) {
        Leader& leader = leaders_[group_fd];
        ++leader.members;
        Write(group_fd, leader);
        return dup(0);  // a real descriptor, so its owner can close it
      }
      int fd = memfd_create("fake_perf_group", MFD_CLOEXEC);
      if (fd < 0) return -1;
      Leader& leader = leaders_[fd];
      leader = Leader{};
      std::tie(leader.enabled, leader.running) = times(leader_count_++);
      Write(fd, leader);
      return fd;
    };
  }

 private:
  struct Leader {
    uint64_t members = 1;
    uint64_t enabled = 0, running = 0;
  };
  void Write(int fd, const Leader& leader) const {
    std::vector<uint64_t> words = {leader.members, leader.enabled, leader.running};
    words.resize(3 + leader.members, value);
    const size_t bytes = words.size() * sizeof(uint64_t);
    if (ftruncate(fd, 0) != 0 ||
        pwrite(fd, words.data(), bytes, 0) != static_cast<ssize_t>(bytes)) {
      std::abort();
    }
  }
  std::mutex mutex_;
  // By descriptor: a closed leader's number is reused by a new one.
  std::map<int, Leader> leaders_;
  int leader_count_ = 0;
};

}  // namespace mapbench
