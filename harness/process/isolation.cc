#include "harness/process/isolation.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "harness/kernel/resources.h"
#include "harness/process/fork.h"

namespace mapbench {
namespace {

std::atomic<pid_t> current_child{0};

}  // namespace

pid_t CurrentChild() { return current_child.load(); }

std::string ChildResult::Describe(double timeout_seconds) const {
  switch (end) {
    case End::kExited:
      return "exited with status " + std::to_string(exit_code);
    case End::kSignaled:
      return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
    case End::kTimedOut: {
      char limit[32];
      std::snprintf(limit, sizeof(limit), "%g", timeout_seconds);
      return std::string("exceeded the ") + limit + " s case time limit and was killed";
    }
    case End::kNotStarted:
      return "could not start: " + error;
  }
  return "?";
}

ChildResult RunInChild(const std::function<int(int result_fd)>& body, double timeout_seconds) {
  ChildResult result;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.error = SysError("pipe2");
    return result;
  }
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  ForkOptions options;
  options.flush_stdio = true;
  // A Ctrl-C between fork() and the store of the child's pid would find no child to
  // stop, and the handler would remove the scratch directory under a case still
  // running: the signals the handler serves wait until the child is known.
  options.publish_pid = &current_child;
  options.die_with_parent_exit_code = 125;
  options.close_fds = {read_end.get()};
  const int result_fd = write_end.get();
  pid_t child = ForkChild(options, [&] { return body(result_fd); }, &result.error);
  if (child < 0) return result;
  write_end.reset();
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration<double>(timeout_seconds);
  bool open = true;
  int status = 0;
  for (;;) {
    // Drain the child's output while waiting, so a full pipe never blocks it.
    if (open) {
      pollfd pfd{read_end.get(), POLLIN, 0};
      if (poll(&pfd, 1, 20) > 0) {
        char buffer[4096];
        ssize_t got = read(read_end.get(), buffer, sizeof(buffer));
        if (got > 0) result.output.append(buffer, static_cast<size_t>(got));
        if (got == 0) open = false;
      }
    } else {
      usleep(5000);
    }
    pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) break;
    if (std::chrono::steady_clock::now() > deadline) {
      KillAndReap(child);
      current_child.store(0);
      result.end = ChildResult::End::kTimedOut;
      return result;
    }
  }
  current_child.store(0);
  // Whatever is left; non-blocking, since a grandchild may still hold the pipe open.
  fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
  char buffer[4096];
  for (ssize_t got; open && (got = read(read_end.get(), buffer, sizeof(buffer))) > 0;) {
    result.output.append(buffer, static_cast<size_t>(got));
  }
  if (WIFSIGNALED(status)) {
    result.end = ChildResult::End::kSignaled;
    result.signal = WTERMSIG(status);
  } else {
    result.end = ChildResult::End::kExited;
    result.exit_code = WEXITSTATUS(status);
  }
  return result;
}

std::string RegexEscape(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    if (std::strchr(R"(\^$.|?*+()[]{})", c) != nullptr) escaped += '\\';
    escaped += c;
  }
  return escaped;
}

}  // namespace mapbench
