// The one place mapbench forks. Each way of running work in another process
// (isolation: a case in a child with a time limit; child_process: a child that
// measures itself and reports through a pipe; workers: a child serving its parent over
// a socket) is ForkChild with its own options, plus its own way of talking and waiting.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mapbench {

struct ForkOptions {
  // Flush stdio before the fork (nothing buffered is written twice) and after the body.
  bool flush_stdio = false;
  // Parent: SIGINT/SIGTERM/SIGHUP are blocked from before the fork until the child's pid
  // is stored here, so a signal handler that reads it never misses a running child.
  std::atomic<pid_t>* publish_pid = nullptr;
  // Child: signals set back to their default action (the parent's handlers clean up the
  // parent's resources, e.g. the scratch directory: not the child's job).
  std::vector<int> default_signals;
  // Child: PR_SET_PDEATHSIG(SIGKILL), so it dies with the thread that forked it; a child
  // whose parent is already gone exits at once with this code.
  std::optional<int> die_with_parent_exit_code;
  // Child: descriptors to close (the parent's ends of pipes and sockets).
  std::vector<int> close_fds;
  // Child: when set, every descriptor >= 3 except these is closed (CloseAllExcept).
  std::optional<std::vector<int>> keep_only_fds;
  // Child: the exit code when the body throws; unset, an exception is not caught.
  std::optional<int> exception_exit_code;
};

// Forks. The child runs body() and leaves with _exit(its return value): no atexit
// handler or static destructor of the parent runs twice. The parent gets the child's
// pid, or -1 with *error set.
pid_t ForkChild(const ForkOptions& options, const std::function<int()>& body,
                std::string* error);

// SIGKILL, then waitpid until it is reaped (retrying on EINTR): never a zombie.
void KillAndReap(pid_t pid);

// Closes every descriptor >= 3 except those in `keep` (for a freshly forked child, so
// it holds no end of another worker's channel and EOF reaches whoever waits for it).
void CloseAllExcept(std::vector<int> keep);

}  // namespace mapbench
