// Runs a piece of work in a child process, so that a case that crashes (SIGSEGV,
// SIGBUS, abort) or hangs becomes a recorded failure instead of the end of the suite.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

namespace mapbench {

struct ChildResult {
  enum class End { kExited, kSignaled, kTimedOut, kNotStarted };
  End end = End::kNotStarted;
  int exit_code = 0;
  int signal = 0;
  std::string output;  // what the child wrote to its result descriptor
  std::string error;   // kNotStarted: why
  // "killed by signal 11 (Segmentation fault)", "exceeded the 300 s case time limit", ...
  std::string Describe(double timeout_seconds) const;
};

// Forks; the child runs body(result_fd) and _exits with its return value (no
// destructors, no atexit: the parent owns every shared resource). The child dies with
// the parent. Waits at most timeout_seconds, then kills the child.
ChildResult RunInChild(const std::function<int(int result_fd)>& body, double timeout_seconds);

// The child now running, or 0; for the parent's signal handler.
pid_t CurrentChild();

// Escapes regex metacharacters so a case name matches only itself.
std::string RegexEscape(const std::string& text);

}  // namespace mapbench
