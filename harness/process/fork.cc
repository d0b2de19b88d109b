#include "harness/process/fork.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <iostream>

#include "harness/kernel/resources.h"

namespace mapbench {

pid_t ForkChild(const ForkOptions& options, const std::function<int()>& body,
                std::string* error) {
  if (options.flush_stdio) {
    std::cout.flush();
    std::fflush(nullptr);
  }
  const pid_t parent = getpid();
  sigset_t stop_signals, old_mask;
  if (options.publish_pid != nullptr) {
    sigemptyset(&stop_signals);
    for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop_signals, signal_number);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
  }
  pid_t pid = fork();
  if (pid != 0) {
    if (options.publish_pid != nullptr) {
      if (pid > 0) options.publish_pid->store(pid);
      pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    }
    if (pid < 0) *error = SysError("fork");
    return pid;
  }
  // The child of a possibly multi-threaded parent: nothing here takes a lock another
  // thread could hold (glibc's malloc is fork-safe).
  if (options.publish_pid != nullptr) pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  for (int signal_number : options.default_signals) signal(signal_number, SIG_DFL);
  if (options.die_with_parent_exit_code) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The parent died before prctl took effect.
    if (getppid() != parent) _exit(*options.die_with_parent_exit_code);
  }
  for (int fd : options.close_fds) close(fd);
  if (options.keep_only_fds) CloseAllExcept(*options.keep_only_fds);
  int code;
  if (options.exception_exit_code) {
    code = *options.exception_exit_code;
    try {
      code = body();
    } catch (...) {
      code = *options.exception_exit_code;
    }
  } else {
    code = body();
  }
  if (options.flush_stdio) {
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
  }
  _exit(code);
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

void CloseAllExcept(std::vector<int> keep) {
  keep.erase(std::remove_if(keep.begin(), keep.end(), [](int fd) { return fd < 3; }), keep.end());
  std::sort(keep.begin(), keep.end());
  unsigned int next = 3;
  for (int fd : keep) {
    if (static_cast<unsigned int>(fd) > next) syscall(SYS_close_range, next, fd - 1, 0);
    next = static_cast<unsigned int>(fd) + 1;
  }
  if (syscall(SYS_close_range, next, UINT_MAX, 0) == 0) return;
  // No close_range (kernel < 5.9): close one by one up to the descriptor limit.
  long limit = sysconf(_SC_OPEN_MAX);
  for (long fd = next; fd < limit; ++fd) {
    if (!std::binary_search(keep.begin(), keep.end(), static_cast<int>(fd)))
      close(static_cast<int>(fd));
  }
}

}  // namespace mapbench
