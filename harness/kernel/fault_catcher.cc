#include "harness/kernel/fault_catcher.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace mapbench {
namespace {

// The catcher of each signal it may hold; read by the handler (lock-free atomics only).
std::atomic<FaultCatcher*> segv_catcher{nullptr};
std::atomic<FaultCatcher*> bus_catcher{nullptr};

std::atomic<FaultCatcher*>* SlotOf(int signal) {
  if (signal == SIGSEGV) return &segv_catcher;
  if (signal == SIGBUS) return &bus_catcher;
  return nullptr;
}

std::string Hex(uintptr_t value) {
  char text[32];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace

FaultCatcher::FaultCatcher(const Expect& expect) : expect_(expect), recorded_(expect.capacity) {
  page_mask_ = ~(static_cast<uintptr_t>(sysconf(_SC_PAGESIZE)) - 1);
}

std::unique_ptr<FaultCatcher> FaultCatcher::Install(const Expect& expect, std::string* error) {
  auto* slot = SlotOf(expect.signal);
  if (slot == nullptr) {
    *error = "FaultCatcher: signal " + std::to_string(expect.signal) + " is not SIGSEGV or SIGBUS";
    return nullptr;
  }
  if (expect.end <= expect.begin) {
    *error = "FaultCatcher: empty address range";
    return nullptr;
  }
  std::unique_ptr<FaultCatcher> catcher(new FaultCatcher(expect));
  FaultCatcher* none = nullptr;
  if (!slot->compare_exchange_strong(none, catcher.get())) {
    *error = std::string("FaultCatcher: ") + strsignal(expect.signal) + " is already caught";
    return nullptr;
  }
  struct sigaction action {};
  action.sa_sigaction = &FaultCatcher::Handle;
  sigemptyset(&action.sa_mask);
  // A jump leaves the handler without sigreturn: with SA_NODEFER the signal was never
  // blocked, so no mask needs restoring (sigsetjmp(.., 0), no syscall per fault).
  action.sa_flags = SA_SIGINFO | (expect.action == Action::kJump ? SA_NODEFER : 0);
  if (sigaction(expect.signal, &action, &catcher->previous_) != 0) {
    *error = std::string("sigaction(") + strsignal(expect.signal) + "): " + std::strerror(errno);
    slot->store(nullptr);
    return nullptr;
  }
  return catcher;
}

FaultCatcher::~FaultCatcher() {
  sigaction(expect_.signal, &previous_, nullptr);
  SlotOf(expect_.signal)->store(nullptr);
}

void FaultCatcher::Reset() { count_.store(0, std::memory_order_release); }

std::vector<uintptr_t> FaultCatcher::addresses() const {
  const uint64_t n = count();
  return std::vector<uintptr_t>(recorded_.begin(),
                                recorded_.begin() + static_cast<ptrdiff_t>(std::min<uint64_t>(n, recorded_.size())));
}

std::optional<std::string> FaultCatcher::Check(const std::vector<uintptr_t>& expected) const {
  const uint64_t n = count();
  if (n != expected.size()) {
    return std::to_string(n) + " " + strsignal(expect_.signal) + " deliveries, expected " +
           std::to_string(expected.size());
  }
  if (n > recorded_.size()) {
    return std::to_string(n) + " deliveries but only " + std::to_string(recorded_.size()) +
           " recorded (capacity)";
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    if (recorded_[i] != expected[i]) {
      return "delivery " + std::to_string(i) + " at " + Hex(recorded_[i]) + ", expected " +
             Hex(expected[i]);
    }
  }
  return std::nullopt;
}

void FaultCatcher::Crash(int signal) {
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  sigaction(signal, &fallback, nullptr);
  // Pending until the handler returns (or at once under SA_NODEFER); a fault that would
  // repeat on return dies of the default action too.
  raise(signal);
}

void FaultCatcher::Handle(int signal, siginfo_t* info, void* /*context*/) {
  const int saved_errno = errno;
  FaultCatcher* self = SlotOf(signal)->load(std::memory_order_acquire);
  if (self == nullptr) {  // between Install's slot and sigaction, or after restore: not ours
    struct sigaction fallback {};
    fallback.sa_handler = SIG_DFL;
    sigaction(signal, &fallback, nullptr);
    raise(signal);
    return;
  }
  const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
  const Expect& e = self->expect_;
  const bool ours = info->si_code == e.code && address >= e.begin && address < e.end &&
                    (e.action != Action::kJump || self->armed_.load(std::memory_order_acquire));
  if (!ours) {
    self->Crash(signal);
    errno = saved_errno;
    return;
  }
  const uint64_t index = self->count_.fetch_add(1, std::memory_order_acq_rel);
  if (index < self->recorded_.size()) self->recorded_[index] = address;
  if (e.action == Action::kJump) {
    errno = saved_errno;
    siglongjmp(self->jump_, 1);
  }
  void* page = reinterpret_cast<void*>(address & self->page_mask_);
  if (mprotect(page, ~self->page_mask_ + 1, e.protection) != 0) self->Crash(signal);
  errno = saved_errno;
}

}  // namespace mapbench
