// Catches the synchronous faults a workload provokes on purpose (SIGSEGV on a protection
// fault, SIGBUS beyond the end of a mapped file) and nothing else: a SA_SIGINFO handler
// that accepts a delivery only when its signal, si_code and si_addr are the expected ones,
// records its address, then either fixes the page (mprotect, the access retries) or jumps
// back to the caller's sigsetjmp point. Any other delivery — an address outside the range,
// another si_code, a signal sent by kill, a fault while a jump is not armed — is a real
// crash: the handler puts the default action back and re-raises, so the process dies of
// that signal as it would have without the catcher.
// The previous disposition is saved at Install and restored by the destructor. A signal
// disposition is process-wide: one catcher per signal at a time (Install refuses a second).
#pragma once

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mapbench {

class FaultCatcher {
 public:
  enum class Action {
    kProtect,  // mprotect the faulting base page to `protection`, return: the access retries
    kJump,     // siglongjmp(jump_buffer(), 1): the access is abandoned (SA_NODEFER, no mask)
  };
  struct Expect {
    int signal = SIGSEGV;     // SIGSEGV or SIGBUS
    int code = SEGV_ACCERR;   // si_code a delivery must carry (SEGV_ACCERR, BUS_ADRERR, ...)
    uintptr_t begin = 0;      // si_addr must lie in [begin, end)
    uintptr_t end = 0;
    Action action = Action::kProtect;
    int protection = PROT_READ | PROT_WRITE;  // kProtect: the page's new protection
    size_t capacity = 0;      // addresses recorded per Reset (later deliveries only counted)
  };

  // Installs the handler; nullptr and `*error` when the signal is not SIGSEGV/SIGBUS, the
  // range is empty, another catcher holds the signal, or sigaction fails.
  static std::unique_ptr<FaultCatcher> Install(const Expect& expect, std::string* error);
  ~FaultCatcher();  // restores the disposition found at Install
  FaultCatcher(const FaultCatcher&) = delete;
  FaultCatcher& operator=(const FaultCatcher&) = delete;

  // kJump: the caller's jump target. Use in the function that makes the accesses:
  //   catcher->Arm(true);
  //   for (...) if (sigsetjmp(*catcher->jump_buffer(), 0) == 0) access(p);
  //   catcher->Arm(false);
  // A delivery while not armed is a crash. (Loop variables live across the jump: volatile.)
  sigjmp_buf* jump_buffer() { return &jump_; }
  void Arm(bool armed) { armed_.store(armed, std::memory_order_release); }

  // Forgets the deliveries so far (between passes).
  void Reset();
  uint64_t count() const { return count_.load(std::memory_order_acquire); }
  // The si_addr of the recorded deliveries, in delivery order (at most `capacity`).
  std::vector<uintptr_t> addresses() const;
  // nullopt when the deliveries since Reset were exactly `expected`, in order; else what
  // differed ("3 deliveries, expected 4", "delivery 2 at 0x...+8, expected 0x...").
  std::optional<std::string> Check(const std::vector<uintptr_t>& expected) const;

  const Expect& expect() const { return expect_; }

 private:
  explicit FaultCatcher(const Expect& expect);
  static void Handle(int signal, siginfo_t* info, void* context);
  void Crash(int signal);  // the default action, re-raised (never returns normally)

  Expect expect_;
  struct sigaction previous_ {};
  std::vector<uintptr_t> recorded_;  // sized at Install: the handler never allocates
  std::atomic<uint64_t> count_{0};
  std::atomic<bool> armed_{false};
  sigjmp_buf jump_;
  uintptr_t page_mask_ = 0;
};

}  // namespace mapbench
