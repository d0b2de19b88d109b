// Worker processes for cases that need a second address space (scaling across
// processes, IPC): fork a child that serves its parent over a Unix socket pair, collect
// its results, and always reap it. Messages are plain bytes; helpers keep EINTR, short
// reads and a dead peer from turning into hangs, SIGPIPE or zombies.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "harness/kernel/resources.h"
#include "harness/process/fork.h"

namespace mapbench {

// Writes all `size` bytes to a socket or pipe (never raises SIGPIPE on a socket).
// Empty string on success, else the error.
std::string SendAll(int fd, const void* data, size_t size);

// Reads exactly `size` bytes, waiting at most `timeout_ms` for each chunk (-1: no limit).
// Empty string on success, else the error. A peer that closed before the first byte
// sets *closed (when given), so a server loop can tell "done" from a broken message.
std::string ReceiveAll(int fd, void* data, size_t size, int timeout_ms, bool* closed = nullptr);

// "exited with status 3", "killed by signal 9 (Killed)" from a waitpid status.
std::string DescribeWaitStatus(int status);

// CloseAllExcept (for a freshly forked child) is in process/fork.h.

class ForkedWorker {
 public:
  using Body = std::function<int(int channel)>;

  // Forks a child that runs body(channel) and exits with its return value (125 if it
  // throws). In the child: SIGINT/SIGTERM/SIGHUP/SIGPIPE have their default action, the
  // child dies with the thread that forked it (PR_SET_PDEATHSIG: start and finish a
  // worker on one thread), and every descriptor but its channel end and `keep_fds` is
  // closed. nullptr with *error on failure.
  static std::unique_ptr<ForkedWorker> Start(const Body& body, const std::vector<int>& keep_fds,
                                             std::string* error);
  // A child still running is killed (SIGKILL) and reaped: never a zombie.
  ~ForkedWorker();
  ForkedWorker(const ForkedWorker&) = delete;
  ForkedWorker& operator=(const ForkedWorker&) = delete;

  pid_t pid() const { return pid_; }
  int channel() const { return channel_.get(); }

  // Exchange with the child. A receive that fails because the child died says how it died.
  std::string Send(const void* data, size_t size);
  std::string Receive(void* data, size_t size, int timeout_ms);
  template <typename T>
  std::string Send(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    return Send(&value, sizeof(T));
  }
  template <typename T>
  std::string Receive(T* value, int timeout_ms) {
    static_assert(std::is_trivially_copyable_v<T>);
    return Receive(static_cast<void*>(value), sizeof(T), timeout_ms);
  }

  // Closes the channel (the child's cue to finish) and waits up to `timeout_ms` for it
  // to exit. Empty string when it exited with status 0; otherwise how it ended (a child
  // that does not exit in time is killed).
  std::string Finish(int timeout_ms);

 private:
  ForkedWorker(pid_t pid, UniqueFd channel) : pid_(pid), channel_(std::move(channel)) {}
  // Reaps the child if it has exited; returns its description, or "" if still running.
  std::string ReapIfExited();
  pid_t pid_ = -1;
  UniqueFd channel_;
  bool reaped_ = false;
  std::string exit_description_;
};

// Blocks SIGPIPE for the calling thread while it lives (sendfile and write to a pipe
// cannot pass MSG_NOSIGNAL); on destruction consumes a SIGPIPE raised meanwhile, so a
// dead peer is an EPIPE error, not the end of the process.
class SigpipeBlock {
 public:
  SigpipeBlock();
  ~SigpipeBlock();
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  bool was_blocked_ = false;
};

// A connected stream pair: AF_UNIX socketpair, or TCP over 127.0.0.1 (a listener on an
// ephemeral port, connected and accepted, then closed). fds[0] and fds[1] are the ends.
enum class StreamKind { kUnix, kTcpLoopback };
std::string ConnectedPair(StreamKind kind, UniqueFd* first, UniqueFd* second);

}  // namespace mapbench
