// fault_signals — page faults that reach user space, against a plain fault the kernel
// resolves alone. One path per case, one op = one pass over size_kib of base pages
// (MADV_NOHUGEPAGE), one access per page, each access one fault:
//   path:plain_fault   store one word per page of anonymous private memory emptied by
//     MADV_DONTNEED: a first-touch fault (do_anonymous_page), the baseline.
//   path:sigsegv       store one word per page of populated memory made PROT_READ: a
//     protection fault, SIGSEGV (SEGV_ACCERR) to a SA_SIGINFO handler that mprotects the
//     page read-write and returns; the store retries and completes.
//   path:sigbus        load one word per page beyond the end of a one-page file mapped
//     MAP_SHARED over 1 + size pages: SIGBUS (BUS_ADRERR) to a handler that siglongjmps
//     back (SA_NODEFER, no mask to restore); the load is abandoned.
//   path:uffd_missing  load one word per page of an empty userfaultfd MISSING region; a
//     handler thread (poll + read) resolves each fault with UFFDIO_COPY of a source page.
//   path:uffd_wp       store one word per page of a populated region write-protected with
//     UFFDIO_WRITEPROTECT; the handler thread removes the protection of the faulting page
//     (UFFDIO_WRITEPROTECT, mode 0, wakes the thread) and the store completes.
// Timed: the accesses of a pass (with the handling they provoke); fault_ns_per_page is
//   that time per page, read from the clock around the accesses.
// Paired baseline (paused for the row's timer and counters, clocked on its own): after
//   each pass a plain first-touch pass, plain_fault_ns_per_page, in the same process — on
//   the same memory for sigsegv and uffd_wp (emptied by MADV_DONTNEED: no signal, no
//   message), on a region beside it for sigbus and uffd_missing. So a row's ratio to a
//   plain fault does not depend on how busy the machine was in another case's moment.
// Untimed, every pass: the reset (MADV_DONTNEED, mprotect(PROT_READ), UFFDIO_WRITEPROTECT
//   of the whole range), the source pages stamped with the pass, every check below.
// Verified every pass: exactly one delivery per page, in page order, at the address
//   accessed (si_addr exact; uffd: the page) with the expected si_code / uffd flags
//   (harness/kernel/fault_catcher checks signal, code and range in the handler and lets
//   anything else crash with the default action); stores read back; uffd_missing pages
//   equal their source byte for byte; the page inside the file reads the file's bytes;
//   plain_fault and every baseline pass take one minor fault per page (getrusage) and
//   none of the baseline's faults reaches user space.
// Config checked: pages absent before a first-touch pass and present before a protection
//   pass (mincore), the read-only VMA (/proc/self/maps), the file's size, the uffd feature.
// uffd rows also say on which CPU each fault was handled: same_cpu_faults_per_page is the
//   share handled on the faulting thread's CPU (a switch there, against a wake-up of
//   another, perhaps idle, vCPU: on a VM the two cost very differently). Not pinned.
// Kernel paths: do_anonymous_page, bad_area/force_sig_fault, signal delivery + sigreturn,
//   mprotect (VMA split/merge), filemap_fault beyond i_size, handle_userfault,
//   mfill_atomic_copy, mwriteprotect_range, do_wp_page's uffd-wp branch.
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "harness/kernel/fault_catcher.h"
#include "harness/kernel/faults.h"
#include "harness/kernel/resources.h"
#include "harness/kernel/vma.h"
#include "harness/process/child_process.h"
#include "harness/run/scratch.h"
#include "harness/workload.h"

namespace mapbench {
namespace {

enum class Path { kPlainFault, kSigsegv, kSigbus, kUffdMissing, kUffdWp };

const char* PathName(Path path) {
  switch (path) {
    case Path::kPlainFault:
      return "plain_fault";
    case Path::kSigsegv:
      return "sigsegv";
    case Path::kSigbus:
      return "sigbus";
    case Path::kUffdMissing:
      return "uffd_missing";
    case Path::kUffdWp:
      return "uffd_wp";
  }
  return "?";
}

struct Config {
  Path path;
  uint64_t size_kib;
};

constexpr size_t kWordOffset = 8;  // the accessed word: not the page's first, so si_addr is exact

// The word stored or expected at page `page` in pass `pass`.
uint64_t Stamp(uint64_t pass, uint64_t page) { return (pass << 32) ^ (page * 0x9E3779B97F4A7C15ull); }

// How many of the `pages` pages at `base` are resident (mincore); nullopt if it failed.
std::optional<uint64_t> ResidentPages(char* base, size_t pages, std::vector<unsigned char>* vec) {
  if (mincore(base, pages * PageSize(), vec->data()) != 0) return std::nullopt;
  uint64_t n = 0;
  for (size_t i = 0; i < pages; ++i) n += (*vec)[i] & 1;
  return n;
}

// ---- userfaultfd -----------------------------------------------------------------------

long UserfaultfdSyscall(int flags) {
#ifdef SYS_userfaultfd
  return syscall(SYS_userfaultfd, flags);
#else
  errno = ENOSYS;
  return -1;
#endif
}

struct Uffd {
  UniqueFd fd;
  std::string how;        // "userfaultfd(2)", "userfaultfd(2, UFFD_USER_MODE_ONLY)", "/dev/userfaultfd"
  uint64_t features = 0;  // what UFFDIO_API reported
};

// A userfaultfd with the API handshake done for `features`: the plain syscall (root, or
// vm.unprivileged_userfaultfd=1), then UFFD_USER_MODE_ONLY (enough: every fault here is
// taken in user mode), then /dev/userfaultfd (its file permissions decide). nullopt and
// the reason (naming the setting) when none is allowed or the kernel lacks a feature.
std::optional<Uffd> OpenUffd(const RunContext& ctx, uint64_t features, std::string* why) {
  const int flags = O_CLOEXEC | O_NONBLOCK;
  Uffd u;
  std::vector<std::string> refused;
  long fd = UserfaultfdSyscall(flags);
  u.how = "userfaultfd(2)";
  if (fd < 0) {
    refused.push_back(SysError("userfaultfd(2)"));
    if (errno != ENOSYS) {
      fd = UserfaultfdSyscall(flags | UFFD_USER_MODE_ONLY);
      u.how = "userfaultfd(2, UFFD_USER_MODE_ONLY)";
      if (fd < 0) refused.push_back(SysError("userfaultfd(2, UFFD_USER_MODE_ONLY)"));
    }
  }
  if (fd < 0) {
    UniqueFd dev(open("/dev/userfaultfd", O_RDWR | O_CLOEXEC));
    u.how = "/dev/userfaultfd";
    if (!dev.valid()) {
      refused.push_back(SysError("open(/dev/userfaultfd)"));
    } else {
      fd = ioctl(dev.get(), USERFAULTFD_IOC_NEW, flags);
      if (fd < 0) refused.push_back(SysError("ioctl(/dev/userfaultfd, USERFAULTFD_IOC_NEW)"));
    }
  }
  if (fd < 0) {
    std::string text = "userfaultfd not allowed here: ";
    for (size_t i = 0; i < refused.size(); ++i) text += (i ? "; " : "") + refused[i];
    auto sysctl = ctx.system.ReadLine("/proc/sys/vm/unprivileged_userfaultfd");
    text += " (vm.unprivileged_userfaultfd=" + sysctl.value_or("?") +
            ", which this benchmark never changes; /dev/userfaultfd needs read-write permission)";
    *why = text;
    return std::nullopt;
  }
  u.fd.reset(static_cast<int>(fd));
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = features;
  if (ioctl(u.fd.get(), UFFDIO_API, &api) != 0) {
    *why = SysError("ioctl(UFFDIO_API, features=" + std::to_string(features) + ")") +
           (features & UFFD_FEATURE_PAGEFAULT_FLAG_WP
                ? " (this kernel lacks UFFD_FEATURE_PAGEFAULT_FLAG_WP: no write-protect mode)"
                : "");
    return std::nullopt;
  }
  u.features = api.features;
  return u;
}

// The features this kernel offers (a probe fd: UFFDIO_API may be called once per fd).
std::optional<uint64_t> UffdFeatures(const RunContext& ctx, std::string* why) {
  auto probe = OpenUffd(ctx, 0, why);
  if (!probe) return std::nullopt;
  return probe->features;
}

// Resolves the faults of one registered region on a thread of its own, one at a time.
class UffdServer {
 public:
  UffdServer(int uffd, bool wp, char* begin, const char* source, size_t pages)
      : uffd_(uffd), wp_(wp), begin_(begin), source_(source), recorded_(pages), flags_(pages),
        cpus_(pages, -2) {}
  ~UffdServer() { Stop(); }

  std::string Start() {
    stop_.reset(eventfd(0, EFD_CLOEXEC));
    if (!stop_.valid()) return SysError("eventfd");
    thread_ = std::thread([this] { Serve(); });
    return "";
  }
  void Stop() {
    if (!thread_.joinable()) return;
    const uint64_t one = 1;
    if (write(stop_.get(), &one, sizeof(one)) != sizeof(one)) error_ = SysError("write(eventfd)");
    thread_.join();
  }
  void Reset() { count_.store(0, std::memory_order_release); }
  uint64_t count() const { return count_.load(std::memory_order_acquire); }
  // The pass's deliveries were one per page, in order, with the expected flags.
  std::optional<std::string> Check(size_t pages) const {
    const uint64_t n = count();
    if (n != pages)
      return std::to_string(n) + " userfaultfd messages, expected " + std::to_string(pages);
    const uint64_t want = wp_ ? (UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE) : 0;
    for (size_t i = 0; i < pages; ++i) {
      const auto page = reinterpret_cast<uintptr_t>(begin_) + i * PageSize();
      if ((recorded_[i] & ~(PageSize() - 1)) != page)
        return "message " + std::to_string(i) + " for another page";
      if (flags_[i] != want) {
        return "message " + std::to_string(i) + " flags " + std::to_string(flags_[i]) +
               ", expected " + std::to_string(want);
      }
    }
    return std::nullopt;
  }
  // How many of the pass's faults were handled on the CPU the faulting thread ran on.
  uint64_t SameCpu(const std::vector<int>& faulter_cpu) const {
    uint64_t n = 0;
    for (size_t i = 0; i < std::min<size_t>(count(), cpus_.size()); ++i) n += cpus_[i] == faulter_cpu[i];
    return n;
  }
  // Set once by the server thread (a failed ioctl); read after Stop.
  const std::string& error() const { return error_; }

 private:
  void Fail(const std::string& what) {
    if (error_.empty()) error_ = what;
  }
  void Serve() {
    pollfd fds[2] = {{uffd_, POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    const uintptr_t mask = ~(static_cast<uintptr_t>(PageSize()) - 1);
    for (;;) {
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return Fail(SysError("poll(userfaultfd)"));
      }
      if (fds[1].revents != 0) return;
      uffd_msg msg;
      const ssize_t n = read(uffd_, &msg, sizeof(msg));
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n != sizeof(msg)) return Fail(SysError("read(userfaultfd)"));
      if (msg.event != UFFD_EVENT_PAGEFAULT) {
        Fail("unexpected userfaultfd event " + std::to_string(msg.event));
        continue;
      }
      const uint64_t index = count_.load(std::memory_order_relaxed);
      if (index < recorded_.size()) {
        recorded_[index] = msg.arg.pagefault.address;
        flags_[index] = msg.arg.pagefault.flags;
        cpus_[index] = sched_getcpu();
      }
      count_.store(index + 1, std::memory_order_release);  // before the fault is resolved
      const uintptr_t page = msg.arg.pagefault.address & mask;
      if (wp_) {
        uffdio_writeprotect unprotect{};
        unprotect.range = {page, PageSize()};
        unprotect.mode = 0;  // protection off, and wake the faulting thread
        if (ioctl(uffd_, UFFDIO_WRITEPROTECT, &unprotect) != 0)
          Fail(SysError("ioctl(UFFDIO_WRITEPROTECT, off)"));
        continue;
      }
      uffdio_copy copy{};
      copy.dst = page;
      copy.src = reinterpret_cast<uintptr_t>(source_) + (page - reinterpret_cast<uintptr_t>(begin_));
      copy.len = PageSize();
      copy.mode = 0;
      if (ioctl(uffd_, UFFDIO_COPY, &copy) != 0) {
        Fail(SysError("ioctl(UFFDIO_COPY)"));
        // Never leave the faulting thread blocked: a zero page lets it go on (and fail the check).
        uffdio_zeropage zero{};
        zero.range = {page, PageSize()};
        if (ioctl(uffd_, UFFDIO_ZEROPAGE, &zero) != 0) {
          uffdio_range wake{page, PageSize()};
          ioctl(uffd_, UFFDIO_WAKE, &wake);
        }
      }
    }
  }

  int uffd_;
  bool wp_;
  char* begin_;
  const char* source_;
  std::vector<uint64_t> recorded_;
  std::vector<uint64_t> flags_;
  std::vector<int> cpus_;  // where this thread ran for each message
  std::atomic<uint64_t> count_{0};
  std::string error_;
  UniqueFd stop_;
  std::thread thread_;
};

// One load per page of `pages` pages beyond the end of a file: each raises SIGBUS and the
// catcher jumps back here. Alone in its frame, so nothing of the caller lives across a
// jump. Returns how many loads came back (none should).
__attribute__((noinline)) uint64_t LoadBeyondEof(FaultCatcher* catcher, char* target, size_t pages) {
  const size_t page = PageSize();
  volatile uint64_t returned = 0;
  volatile size_t i = 0;  // both live across the jumps
  catcher->Arm(true);
  while (i < pages) {
    if (sigsetjmp(*catcher->jump_buffer(), 0) == 0) {
      (void)*reinterpret_cast<volatile uint64_t*>(target + i * page + kWordOffset);
      returned = returned + 1;
    }
    i = i + 1;
  }
  catcher->Arm(false);
  return returned;
}

// ---- the body --------------------------------------------------------------------------

void Run(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const size_t page = PageSize();
  const size_t pages = static_cast<size_t>((c.size_kib << 10) / page);
  const size_t size = pages * page;
  if (pages == 0) return Skip(state, "size_kib smaller than a page");
  if (auto why = CheckMemory(ctx, 3 * size)) return Skip(state, *why);
  const bool uffd = c.path == Path::kUffdMissing || c.path == Path::kUffdWp;

  // The userfaultfd, before anything is mapped: a case that cannot open one is skipped.
  std::optional<Uffd> u;
  std::string error;
  if (uffd) {
    uint64_t want = 0;
    if (c.path == Path::kUffdWp) {
      auto offered = UffdFeatures(ctx, &error);
      if (!offered) return Skip(state, error);
      if (!(*offered & UFFD_FEATURE_PAGEFAULT_FLAG_WP)) {
        return Skip(state,
                    "this kernel's userfaultfd lacks UFFD_FEATURE_PAGEFAULT_FLAG_WP (write-protect "
                    "mode, Linux 5.7+ for anonymous memory)");
      }
      want = UFFD_FEATURE_PAGEFAULT_FLAG_WP;
    }
    u = OpenUffd(ctx, want, &error);
    if (!u) return Skip(state, error);
  }

  // The region: anonymous private, or (sigbus) a one-page file mapped over 1 + pages.
  UniqueFd file;
  Mapping region;
  char* target = nullptr;  // the first page accessed
  if (c.path == Path::kSigbus) {
    std::string path = ctx.scratch->path() + "/fault_signals.XXXXXX";
    file.reset(mkstemp(path.data()));
    if (!file.valid()) return Skip(state, SysError("mkstemp(" + path + ")"));
    unlink(path.c_str());
    std::vector<uint64_t> words(page / 8);
    for (size_t i = 0; i < words.size(); ++i) words[i] = ScratchWord(i);
    if (pwrite(file.get(), words.data(), page, 0) != static_cast<ssize_t>(page))
      return Skip(state, SysError("pwrite(one page)"));
    region = Mapping(mmap(nullptr, size + page, PROT_READ, MAP_SHARED, file.get(), 0), size + page);
    if (!region.valid()) return Skip(state, SysError("mmap(MAP_SHARED, 1 + pages)"));
    target = region.data() + page;
  } else {
    region = Mapping(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                     size);
    if (!region.valid()) return Skip(state, SysError("mmap(len=" + std::to_string(size) + ")"));
    if (madvise(region.data(), size, MADV_NOHUGEPAGE) != 0) return Skip(state, SysError("madvise(MADV_NOHUGEPAGE)"));
    target = region.data();
    if (c.path == Path::kSigsegv || c.path == Path::kUffdWp) {
      for (size_t i = 0; i < pages; ++i) *reinterpret_cast<uint64_t*>(target + i * page) = i + 1;
    }
  }
  const auto begin = reinterpret_cast<uintptr_t>(target);

  // The handlers.
  std::unique_ptr<FaultCatcher> catcher;
  std::unique_ptr<UffdServer> server;
  std::vector<char> source;  // uffd_missing: what each page is filled with
  std::string config;
  bool config_ok = true;
  if (c.path == Path::kSigsegv || c.path == Path::kSigbus) {
    FaultCatcher::Expect e;
    e.signal = c.path == Path::kSigsegv ? SIGSEGV : SIGBUS;
    e.code = c.path == Path::kSigsegv ? static_cast<int>(SEGV_ACCERR) : static_cast<int>(BUS_ADRERR);
    e.begin = begin;
    e.end = begin + size;
    e.action = c.path == Path::kSigsegv ? FaultCatcher::Action::kProtect : FaultCatcher::Action::kJump;
    e.protection = PROT_READ | PROT_WRITE;
    e.capacity = pages;
    catcher = FaultCatcher::Install(e, &error);
    if (!catcher) return Skip(state, error);
  }
  if (uffd) {
    uffdio_register reg{};
    reg.range = {begin, size};
    reg.mode = c.path == Path::kUffdWp ? UFFDIO_REGISTER_MODE_WP : UFFDIO_REGISTER_MODE_MISSING;
    if (ioctl(u->fd.get(), UFFDIO_REGISTER, &reg) != 0)
      return Skip(state, SysError(std::string("ioctl(UFFDIO_REGISTER, ") +
                                  (c.path == Path::kUffdWp ? "MODE_WP" : "MODE_MISSING") +
                                  ") on anonymous memory"));
    const uint64_t needed = c.path == Path::kUffdWp ? (1ull << _UFFDIO_WRITEPROTECT) : (1ull << _UFFDIO_COPY);
    if ((reg.ioctls & needed) != needed) {
      return Skip(state, std::string("the registered range does not offer ") +
                             (c.path == Path::kUffdWp ? "UFFDIO_WRITEPROTECT" : "UFFDIO_COPY"));
    }
    if (c.path == Path::kUffdMissing) {
      source.resize(size);
      for (size_t i = 0; i < size / 8; ++i) reinterpret_cast<uint64_t*>(source.data())[i] = ScratchWord(i);
    }
    server = std::make_unique<UffdServer>(u->fd.get(), c.path == Path::kUffdWp, target, source.data(),
                                          pages);
    if (auto why = server->Start(); !why.empty()) return Skip(state, why);
    config = "userfaultfd by " + u->how;
  }
  if (c.path == Path::kSigbus) {
    struct stat st {};
    const bool one_page = fstat(file.get(), &st) == 0 && static_cast<uint64_t>(st.st_size) == page;
    config_ok = config_ok && one_page;
    config = one_page ? "file of one page, mapped over " + std::to_string(pages + 1) + " pages"
                      : "the file is not one page long";
  }

  // What each pass expects the handler to see.
  std::vector<uintptr_t> expected(pages);
  for (size_t i = 0; i < pages; ++i) expected[i] = begin + i * page + kWordOffset;

  std::vector<unsigned char> residency(pages + 1);
  std::string failure;
  auto fail = [&](const std::string& why) {
    if (failure.empty()) failure = why;
  };
  uint64_t passes = 0, touch_ns = 0, deliveries = 0, minor_faults = 0, wrong_loads = 0;
  uint64_t plain_ns = 0, plain_faults = 0;
  uint64_t same_cpu = 0;                      // uffd: faults whose handler ran on this thread's CPU
  std::vector<int> faulter_cpu(pages, -1);
  uint64_t passes_in_state = 0;  // passes that found their pages as the path needs (mincore)
  bool in_state = false;          // what the last reset found
  bool maps_checked = false;

  // The untimed reset before pass `g`: every page back to the state the path starts from.
  auto reset = [&](uint64_t g) {
    switch (c.path) {
      case Path::kPlainFault:
      case Path::kUffdMissing:
        if (madvise(target, size, MADV_DONTNEED) != 0) fail(SysError("madvise(MADV_DONTNEED)"));
        for (size_t i = 0; i < pages && c.path == Path::kUffdMissing; ++i)
          *reinterpret_cast<uint64_t*>(source.data() + i * page + kWordOffset) = Stamp(g, i);
        break;
      case Path::kSigsegv:
        if (mprotect(target, size, PROT_READ) != 0) fail(SysError("mprotect(PROT_READ)"));
        if (!maps_checked) {
          maps_checked = true;
          const bool ro = RangeHasPermissions(ReadOwnMaps(ctx.system), begin, begin + size, "r--p");
          config_ok = config_ok && ro;
          config = ro ? "/proc/self/maps: the region is r--p before a pass"
                      : "/proc/self/maps does not show the region r--p";
        }
        break;
      case Path::kUffdWp: {
        uffdio_writeprotect protect{};
        protect.range = {begin, size};
        protect.mode = UFFDIO_WRITEPROTECT_MODE_WP;
        if (ioctl(u->fd.get(), UFFDIO_WRITEPROTECT, &protect) != 0)
          fail(SysError("ioctl(UFFDIO_WRITEPROTECT, on)"));
        break;
      }
      case Path::kSigbus:
        break;
    }
    if (catcher) catcher->Reset();
    if (server) server->Reset();
    if (c.path != Path::kSigbus) {
      auto resident = ResidentPages(target, pages, &residency);
      const bool first_touch = c.path == Path::kPlainFault || c.path == Path::kUffdMissing;
      in_state = resident && *resident == (first_touch ? 0 : pages);
    }
  };

  // The checks after pass `g`.
  auto check = [&](uint64_t g) {
    if (catcher) {
      if (auto wrong = catcher->Check(expected)) fail("pass " + std::to_string(g) + ": " + *wrong);
      deliveries += catcher->count();
    }
    if (server) {
      if (auto wrong = server->Check(pages)) fail("pass " + std::to_string(g) + ": " + *wrong);
      deliveries += server->count();
      same_cpu += server->SameCpu(faulter_cpu);
    }
    if (c.path == Path::kPlainFault || c.path == Path::kSigsegv || c.path == Path::kUffdWp) {
      for (size_t i = 0; i < pages; ++i) {
        if (*reinterpret_cast<uint64_t*>(target + i * page + kWordOffset) != Stamp(g, i)) {
          fail("pass " + std::to_string(g) + ": page " + std::to_string(i) + " lost its store");
          break;
        }
      }
    }
    if (c.path == Path::kUffdMissing && std::memcmp(target, source.data(), size) != 0)
      fail("pass " + std::to_string(g) + ": a page differs from its UFFDIO_COPY source");
    if (c.path == Path::kSigbus &&
        *reinterpret_cast<const uint64_t*>(region.data() + kWordOffset) != ScratchWord(1))
      fail("the page inside the file does not read the file's bytes");
  };

  // The paired baseline, untimed for the row (timer and counters paused), clocked for
  // plain_fault_ns_per_page: first-touch stores to one word per page of memory emptied by
  // MADV_DONTNEED, after each pass, in this process. The same memory where it can take a
  // plain fault (sigsegv: the region, read-write again after the handler's fixes; uffd_wp:
  // the registered region, where an empty page faults without a message); a region of its
  // own beside it for sigbus (no page there can be faulted in) and uffd_missing (every
  // empty page would go to the handler).
  const bool same_memory = c.path == Path::kSigsegv || c.path == Path::kUffdWp;
  Mapping plain_region;
  char* plain_target = target;
  if (c.path != Path::kPlainFault && !same_memory) {
    plain_region = Mapping(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), size);
    if (!plain_region.valid()) return Skip(state, SysError("mmap(baseline, len=" + std::to_string(size) + ")"));
    if (madvise(plain_region.data(), size, MADV_NOHUGEPAGE) != 0)
      return Skip(state, SysError("madvise(baseline, MADV_NOHUGEPAGE)"));
    plain_target = plain_region.data();
  }
  auto plain_pass = [&](uint64_t g) {
    if (madvise(plain_target, size, MADV_DONTNEED) != 0) return fail(SysError("madvise(baseline, MADV_DONTNEED)"));
    if (catcher) catcher->Reset();
    if (server) server->Reset();
    const ThreadFaults before = CurrentThreadFaults();
    const uint64_t t0 = MonotonicNs();
    for (size_t i = 0; i < pages; ++i)
      *reinterpret_cast<volatile uint64_t*>(plain_target + i * page + kWordOffset) = Stamp(g, i);
    plain_ns += MonotonicNs() - t0;
    const uint64_t faults = CurrentThreadFaults().minor - before.minor;
    plain_faults += faults;
    if ((catcher && catcher->count() != 0) || (server && server->count() != 0))
      fail("pass " + std::to_string(g) + ": the baseline's plain faults reached user space");
    for (size_t i = 0; i < pages; ++i) {
      if (*reinterpret_cast<uint64_t*>(plain_target + i * page + kWordOffset) != Stamp(g, i))
        return fail("pass " + std::to_string(g) + ": a baseline store was lost");
    }
  };

  {
    reset(1);
    Measurement measure(state, ctx);
    for (auto _ : state) {
      const uint64_t g = ++passes;
      passes_in_state += in_state;
      const ThreadFaults faults_before = CurrentThreadFaults();
      const uint64_t t0 = MonotonicNs();
      switch (c.path) {
        case Path::kPlainFault:
        case Path::kSigsegv:
          for (size_t i = 0; i < pages; ++i)
            *reinterpret_cast<volatile uint64_t*>(target + i * page + kWordOffset) = Stamp(g, i);
          break;
        case Path::kUffdWp:  // and where this thread ran when each fault completed (vDSO)
          for (size_t i = 0; i < pages; ++i) {
            *reinterpret_cast<volatile uint64_t*>(target + i * page + kWordOffset) = Stamp(g, i);
            faulter_cpu[i] = sched_getcpu();
          }
          break;
        case Path::kUffdMissing:
          for (size_t i = 0; i < pages; ++i) {
            wrong_loads += *reinterpret_cast<volatile uint64_t*>(target + i * page + kWordOffset) !=
                           Stamp(g, i);
            faulter_cpu[i] = sched_getcpu();
          }
          break;
        case Path::kSigbus:
          if (uint64_t returned = LoadBeyondEof(catcher.get(), target, pages))
            fail(std::to_string(returned) + " loads beyond the end of the file returned");
          break;
      }
      touch_ns += MonotonicNs() - t0;
      minor_faults += CurrentThreadFaults().minor - faults_before.minor;
      measure.Pause();
      check(g);
      if (c.path != Path::kPlainFault) plain_pass(g);
      reset(g + 1);
      measure.Resume();
    }
    measure.Stop();
  }
  if (server) {
    server->Stop();
    if (!server->error().empty()) fail(server->error());
    uffdio_range range{begin, size};
    if (ioctl(u->fd.get(), UFFDIO_UNREGISTER, &range) != 0) fail(SysError("ioctl(UFFDIO_UNREGISTER)"));
  }
  catcher.reset();  // the previous handlers are back before the row is reported
  if (passes == 0) return Skip(state, "no iterations ran");
  if (wrong_loads > 0) fail(std::to_string(wrong_loads) + " loads did not return the copied word");
  const double faulted = static_cast<double>(passes * pages);
  // One minor fault per page for the first touch (a handled SIGSEGV/SIGBUS is no
  // accounted fault; a uffd fault counts once, when it completes after the retry).
  if (c.path == Path::kPlainFault && (minor_faults < passes * pages || minor_faults > passes * pages * 101 / 100 + 2)) {
    fail(std::to_string(minor_faults) + " minor faults for " + std::to_string(passes * pages) +
         " first touches");
  }
  if (c.path != Path::kPlainFault &&
      (plain_faults < passes * pages || plain_faults > passes * pages * 101 / 100 + 2)) {
    fail(std::to_string(plain_faults) + " minor faults for " + std::to_string(passes * pages) +
         " first touches of the baseline");
  }
  const bool first_touch = c.path == Path::kPlainFault || c.path == Path::kUffdMissing;
  if (c.path != Path::kSigbus) {
    const bool all = passes_in_state == passes;
    config_ok = config_ok && all;
    const std::string state_text = std::string("pages ") + (first_touch ? "absent" : "present") +
                                   " before " + (all ? "every" : "not every") + " pass (mincore)";
    config = config.empty() ? state_text : config + "; " + state_text;
  }

  Outcome outcome;
  outcome.pages_per_op = static_cast<double>(pages);
  outcome.valid = failure.empty();
  if (!failure.empty()) {
    outcome.validation = failure;
  } else {
    const std::string n = std::to_string(passes) + " passes of " + std::to_string(pages) + " pages";
    switch (c.path) {
      case Path::kPlainFault:
        outcome.validation = n + ": one minor fault per page (getrusage), stores read back";
        break;
      case Path::kSigsegv:
        outcome.validation = n + ": one SIGSEGV (SEGV_ACCERR) per page at the stored word's address, "
                                 "in order; stores read back";
        break;
      case Path::kSigbus:
        outcome.validation = n + ": one SIGBUS (BUS_ADRERR) per page beyond EOF at the loaded word's "
                                 "address, in order; the page inside the file reads its bytes";
        break;
      case Path::kUffdMissing:
        outcome.validation = n + ": one MISSING message per page, in order; every page equals its "
                                 "UFFDIO_COPY source byte for byte";
        break;
      case Path::kUffdWp:
        outcome.validation = n + ": one write-protect message (WP|WRITE) per page, in order; stores "
                                 "read back";
        break;
    }
  }
  outcome.config_ok = config_ok;
  outcome.config = config;
  outcome.metrics = {{"fault_ns_per_page", static_cast<double>(touch_ns) / faulted},
                     {"plain_fault_ns_per_page",
                      static_cast<double>(c.path == Path::kPlainFault ? touch_ns : plain_ns) / faulted},
                     {"user_faults_per_page", static_cast<double>(deliveries) / faulted},
                     {"rusage_minor_faults_per_page", static_cast<double>(minor_faults) / faulted}};
  if (server) outcome.metrics.emplace_back("same_cpu_faults_per_page", static_cast<double>(same_cpu) / faulted);
  Report(state, outcome);
}

Case MakeCase(const Config& c, int64_t faults) {
  std::vector<Param> params = {{"path", PathName(c.path)}, {"size_kib", std::to_string(c.size_kib)}};
  // A fixed number of passes: each pass carries an untimed reset and checks about as long
  // as itself, which a minimum time would not count. About `faults` faults a repetition.
  const int64_t pages = std::max<int64_t>(1, static_cast<int64_t>((c.size_kib << 10) / PageSize()));
  const int64_t passes = std::max<int64_t>(4, faults / pages);
  return Case{"", params, [c](benchmark::State& s, const RunContext& ctx) { Run(s, ctx, c); },
              [passes](benchmark::internal::Benchmark* b) { b->Iterations(passes); }};
}

std::vector<Case> Cases(Suite suite) {
  const std::vector<uint64_t> sizes =
      suite == Suite::kQuick ? std::vector<uint64_t>{128} : std::vector<uint64_t>{64, 1024, 16384};
  const int64_t faults = suite == Suite::kQuick ? 1024 : 8192;
  std::vector<Case> cases;
  for (uint64_t size_kib : sizes) {
    for (Path path : {Path::kPlainFault, Path::kSigsegv, Path::kSigbus, Path::kUffdMissing, Path::kUffdWp})
      cases.push_back(MakeCase({path, size_kib}, faults));
  }
  return cases;
}

MAPBENCH_FAMILY(Family{
    "fault_signals",
    "faults that reach user space: handled SIGSEGV and SIGBUS, userfaultfd MISSING and WP, "
    "against a plain fault",
    {"fault_ns_per_page", "plain_fault_ns_per_page", "user_faults_per_page",
     "rusage_minor_faults_per_page", "same_cpu_faults_per_page"},
    Cases,
    // The cost of one fault; ns_per_op is a pass over size_kib of them.
    "fault_ns_per_page"});

}  // namespace
}  // namespace mapbench
