#include "harness/process/workers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mapbench {
namespace {

// Waits until fd is readable; "" when it is, else why not.
std::string WaitReadable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    int ready = poll(&p, 1, timeout_ms);
    if (ready > 0) return "";
    if (ready == 0) return "no data within " + std::to_string(timeout_ms) + " ms";
    if (errno != EINTR) return SysError("poll");
  }
}

bool IsSocket(int fd) {
  int type;
  socklen_t length = sizeof(type);
  return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0;
}

}  // namespace

std::string SendAll(int fd, const void* data, size_t size) {
  const char* bytes = static_cast<const char*>(data);
  const bool socket = IsSocket(fd);
  while (size > 0) {
    ssize_t sent = socket ? send(fd, bytes, size, MSG_NOSIGNAL) : write(fd, bytes, size);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return SysError(socket ? "send" : "write");
    }
    bytes += sent;
    size -= static_cast<size_t>(sent);
  }
  return "";
}

std::string ReceiveAll(int fd, void* data, size_t size, int timeout_ms, bool* closed) {
  char* bytes = static_cast<char*>(data);
  size_t got = 0;
  if (closed != nullptr) *closed = false;
  while (got < size) {
    if (std::string why = WaitReadable(fd, timeout_ms); !why.empty()) return why;
    ssize_t n = read(fd, bytes + got, size - got);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return SysError("read");
    }
    if (n == 0) {
      if (got == 0 && closed != nullptr) *closed = true;
      return "peer closed after " + std::to_string(got) + " of " + std::to_string(size) + " bytes";
    }
    got += static_cast<size_t>(n);
  }
  return "";
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "ended with wait status " + std::to_string(status);
}

std::unique_ptr<ForkedWorker> ForkedWorker::Start(const Body& body,
                                                  const std::vector<int>& keep_fds,
                                                  std::string* error) {
  int ends[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
    *error = SysError("socketpair(AF_UNIX)");
    return nullptr;
  }
  UniqueFd parent_end(ends[0]), child_end(ends[1]);
  ForkOptions options;
  options.default_signals = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
  options.die_with_parent_exit_code = 124;
  options.keep_only_fds = keep_fds;
  options.keep_only_fds->push_back(child_end.get());
  options.exception_exit_code = 125;
  const int channel = child_end.get();
  pid_t pid = ForkChild(options, [&] { return body(channel); }, error);
  if (pid < 0) return nullptr;
  child_end.reset();
  return std::unique_ptr<ForkedWorker>(new ForkedWorker(pid, std::move(parent_end)));
}

ForkedWorker::~ForkedWorker() {
  if (pid_ <= 0 || reaped_) return;
  channel_.reset();
  KillAndReap(pid_);
}

std::string ForkedWorker::ReapIfExited() {
  if (reaped_) return exit_description_;
  int status;
  pid_t done;
  do {
    done = waitpid(pid_, &status, WNOHANG);
  } while (done < 0 && errno == EINTR);
  if (done == 0) return "";
  reaped_ = true;
  exit_description_ = done == pid_ ? DescribeWaitStatus(status) : SysError("waitpid");
  return exit_description_;
}

std::string ForkedWorker::Send(const void* data, size_t size) {
  std::string error = SendAll(channel_.get(), data, size);
  if (error.empty()) return "";
  usleep(1000);  // a dying child: give waitpid a chance to say how it ended
  std::string ended = ReapIfExited();
  return "worker " + std::to_string(pid_) + ": " + error +
         (ended.empty() ? "" : " (" + ended + ")");
}

std::string ForkedWorker::Receive(void* data, size_t size, int timeout_ms) {
  std::string error = ReceiveAll(channel_.get(), data, size, timeout_ms);
  if (error.empty()) return "";
  std::string ended;
  for (int tries = 0; tries < 100 && ended.empty(); ++tries) {  // up to ~100 ms for the exit
    ended = ReapIfExited();
    if (ended.empty()) usleep(1000);
  }
  return "worker " + std::to_string(pid_) + ": " + error +
         (ended.empty() ? "" : " (" + ended + ")");
}

std::string ForkedWorker::Finish(int timeout_ms) {
  channel_.reset();
  timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    std::string ended = ReapIfExited();
    if (!ended.empty()) return ended == "exited with status 0" ? "" : ended;
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double waited_ms = (now.tv_sec - start.tv_sec) * 1e3 + (now.tv_nsec - start.tv_nsec) / 1e6;
    if (waited_ms > timeout_ms) break;
    usleep(200);
  }
  KillAndReap(pid_);
  reaped_ = true;
  exit_description_ = "did not exit within " + std::to_string(timeout_ms) + " ms (killed)";
  return exit_description_;
}

SigpipeBlock::SigpipeBlock() {
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  was_blocked_ = sigismember(&old, SIGPIPE) == 1;
}

SigpipeBlock::~SigpipeBlock() {
  if (was_blocked_) return;
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  // A SIGPIPE raised while blocked is pending on this thread: take it before unblocking.
  timespec zero{0, 0};
  while (sigtimedwait(&pipe_only, nullptr, &zero) == SIGPIPE) {
  }
  pthread_sigmask(SIG_UNBLOCK, &pipe_only, nullptr);
}

std::string ConnectedPair(StreamKind kind, UniqueFd* first, UniqueFd* second) {
  if (kind == StreamKind::kUnix) {
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
      return SysError("socketpair(AF_UNIX, SOCK_STREAM)");
    }
    first->reset(ends[0]);
    second->reset(ends[1]);
    return "";
  }
  UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener.valid()) return SysError("socket(AF_INET)");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;  // an ephemeral port
  socklen_t length = sizeof(address);
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) {
    return SysError("bind(127.0.0.1:0)");
  }
  if (listen(listener.get(), 1) != 0) return SysError("listen");
  if (getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return SysError("getsockname");
  }
  UniqueFd client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!client.valid()) return SysError("socket(AF_INET)");
  if (connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return SysError("connect(127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + ")");
  }
  UniqueFd server(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!server.valid()) return SysError("accept");
  int one = 1;
  setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  setsockopt(server.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  *first = std::move(client);
  *second = std::move(server);
  return "";
}

}  // namespace mapbench
