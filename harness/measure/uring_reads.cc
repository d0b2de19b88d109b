#include "harness/measure/uring_reads.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include "harness/kernel/resources.h"

namespace mapbench {

std::unique_ptr<UringReads> UringReads::Create(unsigned depth, const SystemFiles& system, std::string* error) {
  std::unique_ptr<UringReads> reads(new UringReads(depth));
  const int ret = io_uring_queue_init(depth, &reads->ring_, 0);
  if (ret < 0) {
    *error = SysError("io_uring_queue_init(entries=" + std::to_string(depth) + ")", -ret);
    auto disabled = system.ReadLine("/proc/sys/kernel/io_uring_disabled");
    if (disabled && *disabled != "0") *error += " (kernel.io_uring_disabled=" + *disabled + ")";
    return nullptr;
  }
  return reads;
}

UringReads::~UringReads() { io_uring_queue_exit(&ring_); }

std::optional<std::string> UringReads::Read(int fd, uint64_t block, char* buffers, const Next& next,
                                            const Done& done) {
  std::vector<uint64_t> offset_of(depth_);
  std::vector<unsigned> free_slots;
  free_slots.reserve(depth_);
  for (unsigned s = depth_; s > 0; --s) free_slots.push_back(s - 1);
  std::optional<std::string> failure;
  unsigned in_flight = 0;
  bool more = true;
  auto where = [&](uint64_t offset) {
    return "io_uring read(off=" + std::to_string(offset) + ", len=" + std::to_string(block) + ")";
  };
  while (true) {
    while (more && !failure && !free_slots.empty()) {
      uint64_t offset;
      if (!next(&offset)) {
        more = false;
        break;
      }
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) return "io_uring_get_sqe: submission queue full";  // cannot happen: depth entries
      const unsigned slot = free_slots.back();
      free_slots.pop_back();
      offset_of[slot] = offset;
      io_uring_prep_read(sqe, fd, buffers + slot * block, static_cast<unsigned>(block), offset);
      io_uring_sqe_set_data64(sqe, slot);
      ++in_flight;
    }
    if (in_flight == 0) break;
    const int ret = io_uring_submit_and_wait(&ring_, 1);
    if (ret == -EINTR) continue;
    if (ret < 0) return SysError("io_uring_submit_and_wait", -ret);
    unsigned head, seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      --in_flight;
      const unsigned slot = static_cast<unsigned>(io_uring_cqe_get_data64(cqe));
      free_slots.push_back(slot);
      if (failure) continue;
      if (cqe->res < 0) {
        failure = SysError(where(offset_of[slot]), -cqe->res);
      } else if (static_cast<uint64_t>(cqe->res) != block) {
        failure = where(offset_of[slot]) + ": short read of " + std::to_string(cqe->res) + " bytes";
      } else {
        done(offset_of[slot], buffers + slot * block);
      }
    }
    io_uring_cq_advance(&ring_, seen);
  }
  return failure;
}

}  // namespace mapbench
