// lifecycle_ipc — what creating, changing and sharing mappings costs, against the
// alternatives. One op:
//   map_unmap: mmap of size_kib anonymous private memory + munmap; touch:all also writes
//     and reads back one word per base page in between (MADV_NOHUGEPAGE: base-page faults).
//     map/touch/unmap_ns_per_op time the three parts with clock reads.
//   mprotect: mprotect(PROT_READ) + mprotect(PROT_READ|PROT_WRITE) of a populated region.
//   mremap_growth: grow a populated size_kib buffer to twice its size, keeping its bytes:
//     method:mremap moves it with mremap(MREMAP_MAYMOVE|MREMAP_FIXED) into a reserved
//     2 MiB-aligned area (page tables move, whole PMDs when aligned); method:copy maps a
//     new area, copies, and frees the old pages. grow_ns_per_op is that growth alone; the
//     op also puts the reservations back (mremap: shrink back to size_kib and re-reserve
//     the freed ranges with MAP_FIXED_NOREPLACE), so every op starts alike.
//   transfer: size_kib of fresh data from a worker process to this one: the worker writes
//     it into a shared anonymous mapping or a System V segment and rings back, or writes it
//     into a pipe (64 KiB default capacity); this process sums it. One request per op.
//   serve_file: send a scratch file (warm page cache) to a worker process over a loopback
//     TCP connection or a Unix socket pair: pread 64 KiB + send, mmap + send + munmap, or
//     sendfile; the worker sums what it receives and replies with the sum.
// Timed: the ops, in self-cleaning pairs or whole requests (no per-op PauseTiming).
// Untimed: regions populated, data generated, file warmed, worker forked.
// Verified: every call's result; read-back sums (touch:all); mincore finds the last
//   unmapped region gone; /proc/self/maps shows the protection mprotect set and the grown
//   buffer's VMA; the buffer's checksum after all the moves or copies; every transfer's
//   sum equals the data sent (it changes each op, so stale data cannot pass); the
//   receiver's sum equals the file's known checksum; the System V segment is gone
//   afterwards (IPC_RMID right after shmat, even on errors).
// Kernel paths: mmap_region/vms_complete_munmap, change_protection, move_page_tables,
//   shmem faults, pipe_write/read, tcp/unix sendmsg, splice (sendfile), filemap faults.
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "harness/kernel/cache_control.h"
#include "harness/kernel/resources.h"
#include "harness/kernel/vma.h"
#include "harness/measure/stream_checksum.h"
#include "harness/process/workers.h"
#include "harness/run/scratch.h"
#include "harness/workload.h"

namespace mapbench {
namespace {

constexpr size_t kPmd = 2 << 20;
constexpr size_t kChunk = 64 << 10;  // read+send and pipe chunk
constexpr size_t kReceiveBuffer = 256 << 10;
constexpr int kReplyTimeoutMs = 60 * 1000;

enum class Workload { kMapUnmap, kMprotect, kMremapGrowth, kTransfer, kServeFile };

struct Config {
  Workload workload;
  std::string method;  // touch mode, growth method, transfer medium, serving method
  uint64_t size_kib;
  StreamKind socket = StreamKind::kTcpLoopback;
};

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

uint64_t MinorFaults() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_minflt);
}

std::string Fixed(double value, int digits) {
  char text[48];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

// Fills `words` 64-bit words with the scratch-file pattern.
void FillPattern(uint64_t* words, size_t count) {
  for (size_t i = 0; i < count; ++i) words[i] = ScratchWord(i);
}

void* AnonMap(void* at, size_t size, int prot, int extra_flags) {
  return mmap(at, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
}

// ---- map_unmap -----------------------------------------------------------------------

void RunMapUnmap(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const size_t size = c.size_kib << 10, page = PageSize();
  const size_t pages = size / page;
  const bool touch = c.method == "all";
  if (auto why = CheckMemory(ctx, size * 2)) return Skip(state, *why);
  uint64_t map_ns = 0, touch_ns = 0, unmap_ns = 0, ops = 0, bad = 0;
  std::string failure;
  char* last = nullptr;
  std::vector<unsigned char> residency(pages);  // allocated now: nothing may map memory later
  const uint64_t faults_before = MinorFaults();
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      const uint64_t t0 = NowNs();
      char* region = static_cast<char*>(AnonMap(nullptr, size, PROT_READ | PROT_WRITE, 0));
      const uint64_t t1 = NowNs();
      if (region == MAP_FAILED) {
        if (failure.empty()) failure = SysError("mmap(len=" + std::to_string(size) + ")");
        continue;
      }
      uint64_t t2 = t1;
      if (touch) {
        madvise(region, size, MADV_NOHUGEPAGE);
        for (size_t i = 0; i < pages; ++i)
          *reinterpret_cast<uint64_t*>(region + i * page) = ops + i;
        asm volatile("" ::: "memory");
        uint64_t sum = 0;
        for (size_t i = 0; i < pages; ++i)
          sum += *reinterpret_cast<volatile uint64_t*>(region + i * page);
        if (sum != ops * pages + pages * (pages - 1) / 2) ++bad;
        t2 = NowNs();
      }
      if (munmap(region, size) != 0 && failure.empty()) failure = SysError("munmap");
      const uint64_t t3 = NowNs();
      map_ns += t1 - t0;
      touch_ns += t2 - t1;
      unmap_ns += t3 - t2;
      last = region;
      ++ops;
    }
    measure.Stop();
  }
  // The last region must be gone: mincore fails with ENOMEM on an unmapped range. Asked
  // before anything else could map memory at the freed address.
  errno = 0;
  if (last != nullptr && (mincore(last, size, residency.data()) == 0 || errno != ENOMEM) &&
      failure.empty()) {
    failure = "the last region is still mapped after munmap (mincore)";
  }
  const uint64_t faults = MinorFaults() - faults_before;
  if (failure.empty() && bad > 0) failure = std::to_string(bad) + " ops read back wrong words";
  if (failure.empty() && touch && faults < ops * pages) {
    failure = std::to_string(faults) + " faults for " + std::to_string(ops * pages) +
              " fresh pages touched";
  }
  Outcome outcome;
  outcome.bytes_per_op = touch ? static_cast<double>(size) : 0;  // untouched: no bytes move
  outcome.pages_per_op = static_cast<double>(pages);
  outcome.valid = failure.empty() && ops == static_cast<uint64_t>(state.iterations());
  outcome.validation = failure.empty()
                           ? std::to_string(ops) + " mmap+munmap pairs succeeded" +
                                 (touch ? ", every page written and read back, " +
                                              std::to_string(faults) + " faults (getrusage)"
                                        : "") +
                                 "; the last region was unmapped (mincore: ENOMEM)"
                           : failure;
  const double per_op = ops ? 1.0 / static_cast<double>(ops) : 0;
  outcome.metrics = {{"map_ns_per_op", map_ns * per_op},
                     {"touch_ns_per_op", touch_ns * per_op},
                     {"unmap_ns_per_op", unmap_ns * per_op},
                     {"rusage_minor_faults_per_op", faults * per_op}};
  Report(state, outcome);
}

// ---- mprotect ------------------------------------------------------------------------

void RunMprotect(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const size_t size = c.size_kib << 10;
  if (auto why = CheckMemory(ctx, size)) return Skip(state, *why);
  Mapping region(AnonMap(nullptr, size, PROT_READ | PROT_WRITE, 0), size);
  if (!region.valid()) return Skip(state, SysError("mmap(len=" + std::to_string(size) + ")"));
  madvise(region.data(), size, MADV_NOHUGEPAGE);  // one PTE per page to change
  FillPattern(reinterpret_cast<uint64_t*>(region.data()), size / 8);
  const uint64_t expected = SumWords(region.data(), size);
  const auto begin = reinterpret_cast<uintptr_t>(region.data());

  // The calls really change the protection (checked once, untimed).
  std::string failure;
  if (mprotect(region.data(), size, PROT_READ) != 0)
    return Skip(state, SysError("mprotect(PROT_READ)"));
  const bool read_only = RangeHasPermissions(ReadOwnMaps(ctx.system), begin, begin + size, "r--p");
  mprotect(region.data(), size, PROT_READ | PROT_WRITE);
  const bool writable = RangeHasPermissions(ReadOwnMaps(ctx.system), begin, begin + size, "rw-p");
  if (!read_only || !writable)
    failure = "/proc/self/maps did not show r--p then rw-p for the region";

  uint64_t ops = 0, failed = 0;
  const uint64_t faults_before = MinorFaults();
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      failed += mprotect(region.data(), size, PROT_READ) != 0;
      failed += mprotect(region.data(), size, PROT_READ | PROT_WRITE) != 0;
      ++ops;
    }
    measure.Stop();
  }
  const uint64_t faults = MinorFaults() - faults_before;
  if (failure.empty() && failed > 0) failure = std::to_string(failed) + " mprotect calls failed";
  if (failure.empty() && SumWords(region.data(), size) != expected)
    failure = "region contents changed";
  Outcome outcome;
  outcome.pages_per_op = static_cast<double>(size / PageSize());  // PTEs changed; no bytes move
  outcome.valid = failure.empty();
  outcome.validation = failure.empty()
                           ? std::to_string(2 * ops) +
                                 " mprotect calls succeeded; maps showed r--p then rw-p; "
                                 "contents intact (" +
                                 ChecksumText(expected) + ")"
                           : failure;
  outcome.metrics = {{"rusage_minor_faults_per_op", ops ? static_cast<double>(faults) / ops : 0}};
  Report(state, outcome);
}

// ---- mremap_growth -------------------------------------------------------------------

// A PROT_NONE reservation of `size` bytes aligned to 2 MiB (so PMD-level moves can apply).
char* ReserveAligned(size_t size) {
  const size_t padded = size + kPmd;
  char* raw = static_cast<char*>(AnonMap(nullptr, padded, PROT_NONE, MAP_NORESERVE));
  if (raw == MAP_FAILED) return nullptr;
  char* aligned =
      reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(raw) + kPmd - 1) & ~(kPmd - 1));
  if (aligned > raw) munmap(raw, aligned - raw);
  munmap(aligned + size, raw + padded - (aligned + size));
  return aligned;
}

bool Reserve(char* at, size_t size) {
  return AnonMap(at, size, PROT_NONE, MAP_FIXED_NOREPLACE | MAP_NORESERVE) == at;
}

void RunMremapGrowth(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const size_t size = c.size_kib << 10;
  const bool use_mremap = c.method == "mremap";
  if (auto why = CheckMemory(ctx, size * 3)) return Skip(state, *why);
  char* area[2] = {ReserveAligned(2 * size), ReserveAligned(2 * size)};
  auto release = [&] {
    for (char*& a : area) {
      if (a != nullptr) munmap(a, 2 * size);
      a = nullptr;
    }
  };
  if (area[0] == nullptr || area[1] == nullptr) {
    release();
    return Skip(state,
                SysError("mmap(PROT_NONE reservation, len=" + std::to_string(4 * size) + ")"));
  }
  // The buffer: the first `size` bytes of area 0, populated with the scratch pattern.
  if (AnonMap(area[0], size, PROT_READ | PROT_WRITE, MAP_FIXED) != area[0]) {
    release();
    return Skip(state, SysError("mmap(MAP_FIXED buffer)"));
  }
  madvise(area[0], size, MADV_NOHUGEPAGE);
  FillPattern(reinterpret_cast<uint64_t*>(area[0]), size / 8);
  const uint64_t expected = SumWords(area[0], size);

  int current = 0;
  uint64_t grow_ns = 0, ops = 0;
  std::string failure;
  // A failed call leaves the areas in an unknown shape: stop at once with an error row.
  auto stop = [&](const std::string& what) {
    failure = SysError(what);
    state.SkipWithError(failure.c_str());
  };
  const uint64_t faults_before = MinorFaults();
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      char* from = area[current];
      char* to = area[1 - current];
      if (use_mremap) {
        const uint64_t t0 = NowNs();
        void* moved = mremap(from, size, 2 * size, MREMAP_MAYMOVE | MREMAP_FIXED, to);
        grow_ns += NowNs() - t0;
        if (moved != to) {
          stop("mremap(grow, MREMAP_FIXED)");
          break;
        }
        // Back to the starting shape: `size` bytes of data at `to`, the rest reserved.
        bool ok = mremap(to, 2 * size, size, 0) == to;
        ok = ok && Reserve(to + size, size) && Reserve(from, size);
        if (!ok) {
          stop("mremap(shrink) or re-reserve");
          break;
        }
      } else {
        const uint64_t t0 = NowNs();
        char* fresh = static_cast<char*>(AnonMap(to, 2 * size, PROT_READ | PROT_WRITE, MAP_FIXED));
        if (fresh != to) {
          stop("mmap(new 2x buffer)");
          break;
        }
        madvise(fresh, 2 * size, MADV_NOHUGEPAGE);
        std::memcpy(fresh, from, size);
        // Frees the old pages and keeps the range reserved, in one call.
        if (AnonMap(from, 2 * size, PROT_NONE, MAP_FIXED | MAP_NORESERVE) != from) {
          stop("mmap(MAP_FIXED over the old buffer)");
          break;
        }
        grow_ns += NowNs() - t0;
      }
      current = 1 - current;
      ++ops;
    }
    measure.Stop();
  }
  if (!failure.empty()) return release();  // the error row says why
  const uint64_t faults = MinorFaults() - faults_before;
  char* buffer = area[current];
  const auto begin = reinterpret_cast<uintptr_t>(buffer);
  {
    if (!RangeHasPermissions(ReadOwnMaps(ctx.system), begin, begin + size, "rw-p")) {
      failure = "the buffer's range is not one rw-p mapping after the moves";
    } else if (SumWords(buffer, size) != expected) {
      failure = "buffer checksum changed across the moves";
    }
  }
  release();
  Outcome outcome;
  outcome.bytes_per_op = static_cast<double>(size);
  outcome.pages_per_op = static_cast<double>(size / PageSize());
  outcome.valid = failure.empty();
  outcome.validation = failure.empty() ? std::to_string(ops) + (use_mremap ? " moves" : " copies") +
                                             " to the other area; checksum " + ChecksumText(expected) +
                                             " intact in an rw-p mapping afterwards"
                                       : failure;
  const double per_op = ops ? 1.0 / static_cast<double>(ops) : 0;
  outcome.metrics = {{"grow_ns_per_op", grow_ns * per_op},
                     {"rusage_minor_faults_per_op", faults * per_op}};
  Report(state, outcome);
}

// ---- transfer ------------------------------------------------------------------------

// A System V segment, marked for removal as soon as it is attached: it lives exactly as
// long as someone has it attached, so nothing is left behind, whatever happens next.
struct SysvSegment {
  int id = -1;
  char* address = nullptr;
  ~SysvSegment() {
    if (address != nullptr) shmdt(address);
  }
};

std::string AttachSysv(size_t size, SysvSegment* segment) {
  segment->id = shmget(IPC_PRIVATE, size, IPC_CREAT | IPC_EXCL | 0600);
  if (segment->id < 0) return SysError("shmget(IPC_PRIVATE, size=" + std::to_string(size) + ")");
  void* at = shmat(segment->id, nullptr, 0);
  const int attach_errno = errno;
  shmctl(segment->id, IPC_RMID, nullptr);  // before anything else can fail
  if (at == reinterpret_cast<void*>(-1)) return SysError("shmat", attach_errno);
  segment->address = static_cast<char*>(at);
  return "";
}

// The worker: for each sequence number, writes the data (src + seq per word) into the
// shared memory and rings back, or streams it into the pipe.
int ServeTransfer(int channel, const Config& c, const uint64_t* src, size_t words, char* shared,
                  int pipe_fd) {
  const bool pipe = c.method == "pipe";
  if (!pipe) std::memset(shared, 0, words * 8);  // map the pages in this process too
  std::vector<uint64_t> chunk(kChunk / 8);
  for (;;) {
    uint64_t seq;
    bool closed = false;
    std::string error = ReceiveAll(channel, &seq, sizeof(seq), -1, &closed);
    if (closed) return 0;
    if (!error.empty()) return 2;
    if (!pipe) {
      uint64_t* dst = reinterpret_cast<uint64_t*>(shared);
      for (size_t i = 0; i < words; ++i) dst[i] = src[i] + seq;
      if (!SendAll(channel, &seq, sizeof(seq)).empty()) return 3;
      continue;
    }
    for (size_t at = 0; at < words; at += chunk.size()) {
      const size_t n = std::min(chunk.size(), words - at);
      for (size_t i = 0; i < n; ++i) chunk[i] = src[at + i] + seq;
      if (!SendAll(pipe_fd, chunk.data(), n * 8).empty()) return 4;
    }
  }
}

void RunTransfer(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const size_t size = c.size_kib << 10;
  const size_t words = size / 8;
  if (auto why = CheckMemory(ctx, size * 4)) return Skip(state, *why);
  std::vector<uint64_t> src(words);
  FillPattern(src.data(), words);
  const uint64_t base = SumWords(src.data(), size);

  Mapping shared_mapping;
  SysvSegment segment;
  UniqueFd pipe_read, pipe_write;
  char* shared = nullptr;
  if (c.method == "shared_mapping") {
    shared_mapping = Mapping(
        mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0), size);
    if (!shared_mapping.valid()) return Skip(state, SysError("mmap(MAP_SHARED|MAP_ANONYMOUS)"));
    shared = shared_mapping.data();
  } else if (c.method == "sysv_shm") {
    if (std::string error = AttachSysv(size, &segment); !error.empty()) return Skip(state, error);
    shared = segment.address;
  } else {
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0) return Skip(state, SysError("pipe2"));
    pipe_read.reset(ends[0]);
    pipe_write.reset(ends[1]);
  }
  if (shared != nullptr) std::memset(shared, 0, size);  // populated before timing

  std::string failure;
  const int pipe_fd = pipe_write.get();
  auto worker = ForkedWorker::Start(
      [&](int channel) { return ServeTransfer(channel, c, src.data(), words, shared, pipe_fd); },
      pipe_fd >= 0 ? std::vector<int>{pipe_fd} : std::vector<int>{}, &failure);
  if (!worker) return Skip(state, failure);
  pipe_write.reset();  // the worker holds the only write end: its death is EOF here

  std::vector<char> buffer(kChunk);
  uint64_t seq = 0, bad = 0;
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      ++seq;
      if (!failure.empty()) continue;
      failure = worker->Send(seq);
      uint64_t sum = 0;
      if (failure.empty() && shared != nullptr) {
        uint64_t ack = 0;
        failure = worker->Receive(&ack, kReplyTimeoutMs);
        if (failure.empty() && ack != seq) failure = "worker acknowledged the wrong request";
        sum = SumWords(shared, size);
      } else if (failure.empty()) {
        failure = ReceiveAndSum(pipe_read.get(), size, buffer.data(), buffer.size(),
                                kReplyTimeoutMs, &sum);
      }
      if (sum != base + seq * words) ++bad;
    }
    measure.Stop();
  }
  std::string ended = worker->Finish(10000);
  if (failure.empty() && !ended.empty()) failure = "worker " + ended;
  if (failure.empty() && bad > 0)
    failure = std::to_string(bad) + " transfers arrived with a wrong sum";
  std::string removed;
  if (c.method == "sysv_shm") {
    shmdt(segment.address);
    segment.address = nullptr;
    shmid_ds info;
    removed = shmctl(segment.id, IPC_STAT, &info) != 0 ? "; the segment is gone after detaching"
                                                       : "; the segment still exists";
    if (failure.empty() && shmctl(segment.id, IPC_STAT, &info) == 0)
      failure = "System V segment left behind";
  }
  Outcome outcome;
  outcome.bytes_per_op = static_cast<double>(size);
  outcome.pages_per_op = static_cast<double>(size / PageSize());
  outcome.valid = failure.empty();
  outcome.validation = failure.empty()
                           ? std::to_string(seq) + " transfers, each sum = the data sent (" +
                                 "it changes every op)" + removed
                           : failure;
  Report(state, outcome);
}

// ---- serve_file ----------------------------------------------------------------------

struct ServeReply {
  uint64_t sum = 0;
  uint64_t bytes = 0;
  char error[120] = {};
};

// The receiving side: sums each file's bytes as they arrive and replies with the sum.
int ServeReceiver(int channel, int data_fd, uint64_t size) {
  std::vector<char> buffer(kReceiveBuffer);
  for (;;) {
    ServeReply reply;
    bool closed = false;
    std::string error = ReceiveAndSum(data_fd, size, buffer.data(), buffer.size(), -1, &reply.sum,
                                      &reply.bytes, &closed);
    if (closed) return 0;
    std::snprintf(reply.error, sizeof(reply.error), "%s", error.c_str());
    if (!SendAll(channel, &reply, sizeof(reply)).empty()) return 3;
    if (!error.empty()) return 2;
  }
}

std::string SendFile(const Config& c, int file_fd, int socket_fd, uint64_t size, char* buffer) {
  if (c.method == "read_send") {
    for (uint64_t offset = 0; offset < size;) {
      ssize_t got = pread(file_fd, buffer, kChunk, static_cast<off_t>(offset));
      if (got <= 0) return SysError("pread(offset=" + std::to_string(offset) + ")");
      if (std::string error = SendAll(socket_fd, buffer, static_cast<size_t>(got)); !error.empty())
        return error;
      offset += static_cast<uint64_t>(got);
    }
    return "";
  }
  if (c.method == "mmap_send") {
    Mapping map(mmap(nullptr, size, PROT_READ, MAP_SHARED, file_fd, 0), size);
    if (!map.valid()) return SysError("mmap(file, len=" + std::to_string(size) + ")");
    return SendAll(socket_fd, map.data(), size);  // unmapped on return, inside the op
  }
  off_t offset = 0;
  while (static_cast<uint64_t>(offset) < size) {
    ssize_t sent = sendfile(socket_fd, file_fd, &offset, size - static_cast<uint64_t>(offset));
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return SysError("sendfile(offset=" + std::to_string(offset) + ")");
  }
  return "";
}

void RunServeFile(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const uint64_t size = c.size_kib << 10;
  if (auto why = CheckMemory(ctx, size * 2)) return Skip(state, *why);
  std::string error;
  const ScratchFile* file = ctx.scratch->File(size, &error);
  if (file == nullptr) return Skip(state, error);
  UniqueFd fd(open(file->path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Skip(state, SysError("open(" + file->path + ")"));
  if (auto why = WarmCache(fd.get(), size)) return Skip(state, *why);
  auto resident = ResidentFraction(fd.get(), size, &error);
  if (!resident) return Skip(state, error);

  UniqueFd sender, receiver;
  if (error = ConnectedPair(c.socket, &sender, &receiver); !error.empty())
    return Skip(state, error);
  const int receive_fd = receiver.get();
  auto worker = ForkedWorker::Start(
      [&](int channel) { return ServeReceiver(channel, receive_fd, size); }, {receive_fd}, &error);
  if (!worker) return Skip(state, error);
  receiver.reset();  // the worker's end only: its death breaks the connection

  SigpipeBlock no_sigpipe;  // sendfile to a dead peer: EPIPE, not the end of the process
  std::vector<char> buffer(kChunk);
  uint64_t ops = 0, bad = 0;
  std::string failure;
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      if (!failure.empty()) continue;
      failure = SendFile(c, fd.get(), sender.get(), size, buffer.data());
      ServeReply reply;
      if (failure.empty()) failure = worker->Receive(&reply, kReplyTimeoutMs);
      if (failure.empty() && reply.error[0] != '\0')
        failure = std::string("receiver: ") + reply.error;
      if (failure.empty() && (reply.sum != file->checksum || reply.bytes != size)) ++bad;
      ++ops;
    }
    measure.Stop();
  }
  sender.reset();  // EOF: the receiver's loop ends
  std::string ended = worker->Finish(10000);
  if (failure.empty() && !ended.empty()) failure = "receiver " + ended;
  if (failure.empty() && bad > 0)
    failure = std::to_string(bad) + " files arrived with a wrong checksum";
  Outcome outcome;
  outcome.bytes_per_op = static_cast<double>(size);
  outcome.pages_per_op = static_cast<double>(size / PageSize());
  outcome.valid = failure.empty();
  outcome.validation = failure.empty() ? "receiver's checksum " + ChecksumText(file->checksum) +
                                             " matched on all " + std::to_string(ops) + " files"
                                       : failure;
  outcome.config_ok = *resident >= 0.99;
  outcome.config =
      "warm: " + Fixed(100 * *resident, 1) + "% of the file resident before the first op";
  outcome.metrics = {{"resident_fraction_before", *resident}};
  Report(state, outcome);
}

// ---- cases ---------------------------------------------------------------------------

const char* WorkloadName(Workload w) {
  switch (w) {
    case Workload::kMapUnmap:
      return "map_unmap";
    case Workload::kMprotect:
      return "mprotect";
    case Workload::kMremapGrowth:
      return "mremap_growth";
    case Workload::kTransfer:
      return "transfer";
    case Workload::kServeFile:
      return "serve_file";
  }
  return "?";
}

Case MakeCase(const Config& c) {
  std::vector<Param> params;
  switch (c.workload) {
    case Workload::kMapUnmap:
      params.push_back({"touch", c.method});
      break;
    case Workload::kMprotect:
      break;
    case Workload::kServeFile:
      params.push_back({"method", c.method});
      params.push_back({"socket", c.socket == StreamKind::kUnix ? "unix" : "tcp"});
      break;
    default:
      params.push_back({"method", c.method});
      break;
  }
  params.push_back({"size_kib", std::to_string(c.size_kib)});
  Case out;
  out.workload = WorkloadName(c.workload);
  out.params = params;
  out.body = [c](benchmark::State& s, const RunContext& ctx) {
    switch (c.workload) {
      case Workload::kMapUnmap:
        return RunMapUnmap(s, ctx, c);
      case Workload::kMprotect:
        return RunMprotect(s, ctx, c);
      case Workload::kMremapGrowth:
        return RunMremapGrowth(s, ctx, c);
      case Workload::kTransfer:
        return RunTransfer(s, ctx, c);
      case Workload::kServeFile:
        return RunServeFile(s, ctx, c);
    }
  };
  return out;
}

std::vector<Case> Cases(Suite suite) {
  const bool quick = suite == Suite::kQuick;
  using Sizes = std::vector<uint64_t>;
  const Sizes region_sizes = quick ? Sizes{4, 16384} : Sizes{4, 64, 1024, 16384, 262144};
  const Sizes growth_sizes = quick ? Sizes{64, 16384} : Sizes{4, 64, 1024, 16384, 262144};
  const Sizes transfer_sizes = quick ? Sizes{64, 4096} : Sizes{4, 64, 1024, 16384, 65536};
  const Sizes file_sizes = quick ? Sizes{4096} : Sizes{64, 1024, 16384, 262144};
  std::vector<Case> cases;
  // The quick suite runs untouched mappings and System V segments at one size only: the
  // first costs the same at any size, the second like the shared mapping (shmem pages).
  for (const char* touch : {"none", "all"}) {
    for (uint64_t kib : region_sizes) {
      if (quick && std::string(touch) == "none" && kib != region_sizes.front()) continue;
      cases.push_back(MakeCase({Workload::kMapUnmap, touch, kib}));
    }
  }
  for (uint64_t kib : region_sizes) cases.push_back(MakeCase({Workload::kMprotect, "", kib}));
  for (const char* method : {"mremap", "copy"}) {
    for (uint64_t kib : growth_sizes) {
      cases.push_back(MakeCase({Workload::kMremapGrowth, method, kib}));
    }
  }
  for (const char* method : {"shared_mapping", "sysv_shm", "pipe"}) {
    for (uint64_t kib : transfer_sizes) {
      if (quick && std::string(method) == "sysv_shm" && kib != transfer_sizes.front()) continue;
      cases.push_back(MakeCase({Workload::kTransfer, method, kib}));
    }
  }
  const std::vector<StreamKind> sockets =
      quick ? std::vector<StreamKind>{StreamKind::kTcpLoopback}
            : std::vector<StreamKind>{StreamKind::kTcpLoopback, StreamKind::kUnix};
  for (StreamKind socket : sockets) {
    for (const char* method : {"read_send", "mmap_send", "sendfile"}) {
      for (uint64_t kib : file_sizes) {
        cases.push_back(MakeCase({Workload::kServeFile, method, kib, socket}));
      }
    }
  }
  return cases;
}

MAPBENCH_FAMILY(Family{
    "lifecycle_ipc",
    "mmap/munmap, mprotect, mremap vs copy by size; shared mapping vs SysV shm vs pipe; "
    "read+send vs mmap+send vs sendfile",
    {"map_ns_per_op", "touch_ns_per_op", "unmap_ns_per_op", "grow_ns_per_op",
     "rusage_minor_faults_per_op", "resident_fraction_before"},
    Cases});

}  // namespace
}  // namespace mapbench
